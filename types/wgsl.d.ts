// WGSL sources are imported as strings: in Node by scripts/wgsl-loader.mjs, in the
// renderer by the Vite plugin of the same name.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
