// A perceptually ordered colour map for heatmaps: dark violet through blue, teal and green
// to yellow, the hue path of matplotlib's viridis. The stops were picked by hand for this
// project. Their lightness (CIE L*) rises from 15 to 90, by 8 to 12 from stop to stop, and
// rounding to 8-bit channels makes it dip by less than 0.1 between neighbouring table
// entries (test/cli/inspect-render.test.ts checks both), so brighter means larger.

/** sRGB stops at equal spacing from 0 to 1. */
const STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [72, 38, 119],
  [64, 72, 136],
  [51, 102, 141],
  [40, 129, 142],
  [32, 157, 136],
  [55, 183, 119],
  [140, 212, 70],
  [250, 230, 38],
];

/** Entries of the lookup table that colourFor reads. */
const TABLE_SIZE = 256;

function interpolateStops(t: number): [number, number, number] {
  const position = t * (STOPS.length - 1);
  const index = Math.min(STOPS.length - 2, Math.floor(position));
  const fraction = position - index;
  const from = STOPS[index];
  const to = STOPS[index + 1];
  return [0, 1, 2].map((k) => Math.round(from[k] + (to[k] - from[k]) * fraction)) as [number, number, number];
}

/** RGB triples for TABLE_SIZE values from 0 to 1, packed as [r0, g0, b0, r1, ...]. */
export const COLORMAP_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(TABLE_SIZE * 3);
  for (let i = 0; i < TABLE_SIZE; i++) table.set(interpolateStops(i / (TABLE_SIZE - 1)), i * 3);
  return table;
})();

/** Colour of a value NaN or infinite, so that missing data never looks like a small value. */
export const NON_FINITE_COLOR: readonly [number, number, number] = [255, 0, 255];

/**
 * Writes the colour of `t` in [0, 1] into pixels at byteOffset as opaque RGBA. Values
 * outside [0, 1] are clamped, and a NaN gets NON_FINITE_COLOR.
 */
export function writeColor(pixels: Uint8Array, byteOffset: number, t: number): void {
  if (Number.isNaN(t)) {
    pixels[byteOffset] = NON_FINITE_COLOR[0];
    pixels[byteOffset + 1] = NON_FINITE_COLOR[1];
    pixels[byteOffset + 2] = NON_FINITE_COLOR[2];
    pixels[byteOffset + 3] = 255;
    return;
  }
  const index = Math.round(Math.min(1, Math.max(0, t)) * (TABLE_SIZE - 1)) * 3;
  pixels[byteOffset] = COLORMAP_TABLE[index];
  pixels[byteOffset + 1] = COLORMAP_TABLE[index + 1];
  pixels[byteOffset + 2] = COLORMAP_TABLE[index + 2];
  pixels[byteOffset + 3] = 255;
}
