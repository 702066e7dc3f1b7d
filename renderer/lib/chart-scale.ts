// Linear scales and tick values for the canvas charts.

export interface LinearScale {
  /** Maps a data value to a pixel coordinate. */
  toPixel(value: number): number;
  /** Maps a pixel coordinate back to a data value. */
  toValue(pixel: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

/** Creates a scale from `domain` to `range`. An empty domain maps every value to the range's middle. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  return {
    domain,
    range,
    toPixel: (value) => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0)),
    toValue: (pixel) => (r1 === r0 ? d0 : d0 + ((pixel - r0) / (r1 - r0)) * span),
  };
}

/**
 * Returns about `targetCount` round tick values (1, 2 or 5 times a power of ten apart)
 * covering [min, max]. Values are rounded to the step's precision so labels print cleanly.
 */
export function niceTicks(min: number, max: number, targetCount = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || targetCount < 1) return [];
  if (min === max) return [min];
  const low = Math.min(min, max);
  const high = Math.max(min, max);
  const rawStep = (high - low) / targetCount;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const residual = rawStep / magnitude;
  // The smallest of 1, 2, 5 and 10 times the magnitude that is at least the raw step.
  const multiplier = [1, 2, 5, 10].find((candidate) => residual <= candidate) ?? 10;
  const step = multiplier * magnitude;
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));

  const ticks: number[] = [];
  for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) {
    ticks.push(Number(value.toFixed(decimals)));
  }
  return ticks;
}

/** Extends [min, max] by a fraction of its span on both sides, so lines do not touch the frame. */
export function paddedExtent(values: readonly number[], padFraction = 0.05): [number, number] | null {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (min === Infinity) return null;
  const pad = (max - min) * padFraction || Math.abs(max) * padFraction || 1;
  return [min - pad, max + pad];
}
