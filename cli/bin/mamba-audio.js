#!/usr/bin/env node
// Installed entry point of the `mamba-audio` command. It registers the TypeScript loader
// (tsx) and the WGSL loader, then runs cli/main.ts, so the CLI runs from source.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('../../scripts/wgsl-loader.mjs', import.meta.url);

const { main } = await import('../main.ts');
process.exitCode = await main(process.argv.slice(2));
