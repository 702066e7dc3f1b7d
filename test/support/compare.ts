// Element-wise comparison with a tolerance of atol + rtol * |expected|, reporting the
// first mismatches by index so a failing kernel test points at the bad elements.
import assert from 'node:assert/strict';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  const mismatches: string[] = [];
  let count = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const allowed = tolerance.atol + tolerance.rtol * Math.abs(e);
    const error = Math.abs(a - e);
    const bad = Number.isNaN(a) !== Number.isNaN(e) || (!Number.isNaN(e) && !(error <= allowed) && a !== e);
    if (bad) {
      count++;
      worst = Math.max(worst, Number.isFinite(error) ? error / Math.max(allowed, 1e-30) : Infinity);
      if (mismatches.length < 8) mismatches.push(`  [${i}] got ${a}, expected ${e} (|diff| ${error.toExponential(3)} > ${allowed.toExponential(3)})`);
    }
  }
  if (count > 0) {
    assert.fail(
      `${what}: ${count} of ${expected.length} elements outside atol ${tolerance.atol} + rtol ${tolerance.rtol}` +
        ` (worst ${worst.toFixed(1)}x the tolerance)\n${mismatches.join('\n')}`,
    );
  }
}

/** Largest |a - b| / (atol + |b|), for reporting how close two arrays are. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (atol + Math.abs(expected[i])));
  }
  return worst;
}
