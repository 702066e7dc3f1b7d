// Reads `const NAME: u32 = 123u;` declarations from WGSL source, so that a wrapper sizes its
// dispatches from the numbers the shader itself uses instead of a hand-kept copy.

/** Returns the value of a u32 literal constant declared in `source`; throws if it is missing. */
export function wgslConstant(source: string, name: string): number {
  const match = new RegExp(`\\bconst\\s+${name}\\s*:\\s*u32\\s*=\\s*(\\d+)u\\s*;`).exec(source);
  if (!match) throw new Error(`WGSL constant ${name} not found as "const ${name}: u32 = <n>u;"`);
  return Number(match[1]);
}
