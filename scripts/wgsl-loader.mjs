// Node module-loader hook that turns `import source from './kernel.wgsl'` into a module
// whose default export is the file's text, so the engine keeps its shaders in .wgsl files
// and runs unchanged in Node (tests, CLI) and in the browser (Vite inlines them there).
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.wgsl')) return nextLoad(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
