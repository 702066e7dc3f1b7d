// Lowpass FIR design with the Kaiser window and Kaiser's empirical formulas for the window
// parameter beta and the filter order. Both formulas are estimates, so tests measure the
// attenuation that the designed filters reach.

/** Modified Bessel function of the first kind, order 0, by its power series. */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterXSquared = (x * x) / 4;
  for (let k = 1; k < 500; k++) {
    term *= quarterXSquared / (k * k);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum;
}

/** Window shape parameter beta for a stopband attenuation in dB. */
export function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/**
 * Kaiser's estimate of the filter order (length minus one) that reaches attenuationDb with
 * a transition band of transitionRadians (radians per sample).
 */
export function kaiserOrder(attenuationDb: number, transitionRadians: number): number {
  return Math.ceil((attenuationDb - 7.95) / (2.285 * transitionRadians));
}

/**
 * A windowed-sinc lowpass kernel as a function of distance u in samples:
 * h(u) = 2 fc sinc(2 fc u) w(u / halfWidth), zero for |u| > halfWidth.
 * `cutoff` is in cycles per sample.
 */
export function windowedSinc(cutoff: number, halfWidth: number, attenuationDb: number): (u: number) => number {
  const beta = kaiserBeta(attenuationDb);
  const i0Beta = besselI0(beta);
  return (u: number): number => {
    if (Math.abs(u) > halfWidth) return 0;
    const ratio = u / halfWidth;
    const window = besselI0(beta * Math.sqrt(1 - ratio * ratio)) / i0Beta;
    const x = 2 * cutoff * u;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    return 2 * cutoff * sinc * window;
  };
}

/**
 * Taps of a linear-phase lowpass at sampleRateHz that passes [0, passbandHz] and attenuates
 * [stopbandHz, sampleRateHz / 2] by attenuationDb. The length is odd, the centre tap is
 * the middle one, and the taps sum to 1 (unit gain at DC).
 */
export function designLowpass(sampleRateHz: number, passbandHz: number, stopbandHz: number, attenuationDb: number): Float64Array {
  const transitionRadians = (2 * Math.PI * (stopbandHz - passbandHz)) / sampleRateHz;
  const halfLength = Math.ceil(kaiserOrder(attenuationDb, transitionRadians) / 2);
  const kernel = windowedSinc((passbandHz + stopbandHz) / 2 / sampleRateHz, halfLength, attenuationDb);
  const taps = new Float64Array(2 * halfLength + 1);
  let sum = 0;
  for (let k = 0; k < taps.length; k++) {
    taps[k] = kernel(k - halfLength);
    sum += taps[k];
  }
  for (let k = 0; k < taps.length; k++) taps[k] /= sum;
  return taps;
}
