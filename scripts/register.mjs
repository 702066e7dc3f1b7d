// Registers the TypeScript loader (tsx) and the WGSL loader for every Node entry point:
// `node --import ./scripts/register.mjs file.ts`.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./wgsl-loader.mjs', import.meta.url);
