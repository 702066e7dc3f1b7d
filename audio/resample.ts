// Band-limited sample rate conversion with Kaiser-windowed sinc filters.
//
// Output sample n sits at input time t = n * inputRateHz / outputRateHz and is
//   y[n] = sum over m of x[m] * h(t - m),
// with h a windowed sinc in input samples, stored as a polyphase table. The kernel is
// symmetric, so the output has no delay.
//
// Frequencies up to passbandFraction of the lower Nyquist frequency pass flat, and
// everything that would land below the output Nyquist frequency as an alias (downsampling)
// or an image (upsampling) is attenuated by stopbandAttenuationDb.
//
// Downsampling by more than 1.25 runs in two stages, because one sharp polyphase kernel
// costs about 5 * inputRateHz / (transition width) multiply-adds per output sample
// (278 at 44.1 kHz to 16 kHz):
//   1. a sharp lowpass at the input rate (passband edge to output Nyquist), applied by FFT;
//   2. a short interpolating kernel (about 8 taps) that only has to be flat up to the
//      output Nyquist and reject the input's images above inputRateHz - outputRateHz / 2.
// Upsampling and conversions between close rates use one polyphase stage.

import { FftFilter } from './fft-filter';
import { designLowpass, kaiserOrder, windowedSinc } from './kaiser';

/** Filter design parameters. Defaults suit 8-bit model input and 16-bit export. */
export interface ResamplerOptions {
  /**
   * Upper end of the flat band as a fraction of the lower of the two Nyquist frequencies,
   * in (0, 1). Default 0.9: flat to 7.2 kHz for a 16 kHz output.
   */
  passbandFraction?: number;
  /** Minimum attenuation in dB of aliases and images. Default 80. */
  stopbandAttenuationDb?: number;
}

/** A windowed-sinc kernel sampled at the phases of a polyphase resampler. */
export interface PolyphaseKernel {
  /** Half-width of the kernel, in input samples. */
  halfWidthInputSamples: number;
  /** Filter taps applied per output sample. */
  tapsPerPhase: number;
  /**
   * Phases in `taps`. Equal to upFactor when every output time falls on a stored phase.
   * Otherwise the table contains INTERPOLATED_PHASE_COUNT + 1 phases, and taps are
   * interpolated linearly between the two nearest.
   */
  phaseCount: number;
  exactPhases: boolean;
  /** Phase-major: taps[p * tapsPerPhase + j] weights input sample floor(t) - tapsPerPhase / 2 + 1 + j. */
  taps: Float32Array;
}

/** A designed conversion between two rates, reusable across calls. */
export interface ResamplerPlan {
  inputRateHz: number;
  outputRateHz: number;
  /** outputRateHz / inputRateHz reduced to upFactor / downFactor. */
  upFactor: number;
  downFactor: number;
  /** Sharp lowpass applied at the input rate before interpolation, or null for one stage. */
  prefilter: FftFilter | null;
  kernel: PolyphaseKernel;
}

const DEFAULT_PASSBAND_FRACTION = 0.9;
const DEFAULT_STOPBAND_ATTENUATION_DB = 80;
/** Two stages pay off once the input rate exceeds the output rate by this factor. */
const TWO_STAGE_MIN_RATIO = 1.25;
/** Largest exact phase table in taps (4 MiB of float32); other ratios interpolate between phases. */
const MAX_EXACT_TABLE_TAPS = 1 << 20;
/** Phases of an interpolated table. With 512, the tests measure images below -100 dB on that path. */
const INTERPOLATED_PHASE_COUNT = 512;
const MAX_CACHED_PLANS = 16;

const planCache = new Map<string, ResamplerPlan>();

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function checkRate(name: string, rateHz: number): void {
  if (!Number.isInteger(rateHz) || rateHz <= 0 || rateHz > 10_000_000) {
    throw new RangeError(`resample: ${name} must be an integer from 1 to 10000000 Hz, got ${rateHz}`);
  }
}

/**
 * Samples a windowed sinc that passes [0, passbandHz] and stops from stopbandHz (both at
 * the input rate) at the phases a conversion by upFactor / downFactor needs.
 */
function designPolyphaseKernel(
  inputRateHz: number,
  upFactor: number,
  passbandHz: number,
  stopbandHz: number,
  attenuationDb: number,
): PolyphaseKernel {
  const transitionRadians = (2 * Math.PI * (stopbandHz - passbandHz)) / inputRateHz;
  const halfWidth = kaiserOrder(attenuationDb, transitionRadians) / 2;
  const halfTaps = Math.ceil(halfWidth);
  const tapsPerPhase = 2 * halfTaps;
  const kernel = windowedSinc((passbandHz + stopbandHz) / 2 / inputRateHz, halfWidth, attenuationDb);

  const exactPhases = upFactor * tapsPerPhase <= MAX_EXACT_TABLE_TAPS;
  const phaseCount = exactPhases ? upFactor : INTERPOLATED_PHASE_COUNT + 1;
  const phaseStep = exactPhases ? 1 / upFactor : 1 / INTERPOLATED_PHASE_COUNT;
  const taps = new Float32Array(phaseCount * tapsPerPhase);
  const row = new Float64Array(tapsPerPhase);

  for (let p = 0; p < phaseCount; p++) {
    const fraction = p * phaseStep;
    let sum = 0;
    for (let j = 0; j < tapsPerPhase; j++) {
      // Distance from the output time to input sample floor(t) - halfTaps + 1 + j.
      row[j] = kernel(fraction + halfTaps - 1 - j);
      sum += row[j];
    }
    // Unit gain at DC for every phase. Without it, each phase's gain differs slightly, so a
    // constant input comes out with a ripple at the phase period.
    for (let j = 0; j < tapsPerPhase; j++) taps[p * tapsPerPhase + j] = row[j] / sum;
  }
  return { halfWidthInputSamples: halfWidth, tapsPerPhase, phaseCount, exactPhases, taps };
}

/**
 * Designs (or returns the cached) plan for converting inputRateHz to outputRateHz.
 * Throws RangeError for rates that are not positive integers or options out of range.
 */
export function planResampler(inputRateHz: number, outputRateHz: number, options: ResamplerOptions = {}): ResamplerPlan {
  checkRate('inputRateHz', inputRateHz);
  checkRate('outputRateHz', outputRateHz);
  const passbandFraction = options.passbandFraction ?? DEFAULT_PASSBAND_FRACTION;
  const attenuationDb = options.stopbandAttenuationDb ?? DEFAULT_STOPBAND_ATTENUATION_DB;
  if (!(passbandFraction > 0 && passbandFraction < 1)) {
    throw new RangeError(`resample: passbandFraction must lie in (0, 1), got ${passbandFraction}`);
  }
  if (!(attenuationDb >= 20 && attenuationDb <= 200)) {
    throw new RangeError(`resample: stopbandAttenuationDb must lie in [20, 200], got ${attenuationDb}`);
  }

  const key = `${inputRateHz}:${outputRateHz}:${passbandFraction}:${attenuationDb}`;
  const cached = planCache.get(key);
  if (cached !== undefined) return cached;

  const divisor = greatestCommonDivisor(inputRateHz, outputRateHz);
  const upFactor = outputRateHz / divisor;
  const downFactor = inputRateHz / divisor;
  const nyquistHz = Math.min(inputRateHz, outputRateHz) / 2;
  const passbandHz = passbandFraction * nyquistHz;

  let prefilter: FftFilter | null = null;
  let kernel: PolyphaseKernel;
  if (inputRateHz >= TWO_STAGE_MIN_RATIO * outputRateHz) {
    prefilter = new FftFilter(designLowpass(inputRateHz, passbandHz, nyquistHz, attenuationDb));
    // The prefiltered signal contains nothing above nyquistHz, so its images start at
    // inputRateHz - nyquistHz and the kernel may be flat up to nyquistHz itself.
    kernel = designPolyphaseKernel(inputRateHz, upFactor, nyquistHz, inputRateHz - nyquistHz, attenuationDb);
  } else {
    kernel = designPolyphaseKernel(inputRateHz, upFactor, passbandHz, nyquistHz, attenuationDb);
  }

  const plan: ResamplerPlan = { inputRateHz, outputRateHz, upFactor, downFactor, prefilter, kernel };
  if (planCache.size >= MAX_CACHED_PLANS) planCache.delete(planCache.keys().next().value as string);
  planCache.set(key, plan);
  return plan;
}

/** Output length for an input of inputFrameCount frames: the input duration, rounded to whole samples. */
export function resampledFrameCount(inputFrameCount: number, inputRateHz: number, outputRateHz: number): number {
  return Math.round((inputFrameCount * outputRateHz) / inputRateHz);
}

/**
 * Resamples one channel. The signal is taken as zero outside the input, so the first and
 * last few milliseconds of the output fade in and out over the filter's length.
 * Returns a copy when the rates are equal. Throws RangeError for invalid rates or options.
 */
export function resample(
  samples: Float32Array,
  inputRateHz: number,
  outputRateHz: number,
  options: ResamplerOptions = {},
): Float32Array {
  const plan = planResampler(inputRateHz, outputRateHz, options);
  if (inputRateHz === outputRateHz) return samples.slice();

  const outputFrameCount = resampledFrameCount(samples.length, inputRateHz, outputRateHz);
  const output = new Float32Array(outputFrameCount);
  if (outputFrameCount === 0) return output;

  const input = plan.prefilter === null ? samples : plan.prefilter.apply(samples);

  // Zero padding on both sides keeps the inner loop free of edge cases: input sample m
  // lives at padded[m + halfTaps], so tap j of output time t reads padded[floor(t) + 1 + j].
  const { kernel } = plan;
  const padded = new Float32Array(input.length + kernel.tapsPerPhase + 2);
  padded.set(input, kernel.tapsPerPhase / 2);

  if (kernel.exactPhases) convolveExact(padded, output, kernel, plan.upFactor, plan.downFactor);
  else convolveInterpolated(padded, output, kernel, plan.upFactor, plan.downFactor);
  return output;
}

/** Convolves for ratios whose output times all fall on stored phases: t = inputIndex + phase / upFactor. */
function convolveExact(padded: Float32Array, output: Float32Array, kernel: PolyphaseKernel, upFactor: number, downFactor: number): void {
  const { taps, tapsPerPhase } = kernel;
  const wholeStep = Math.floor(downFactor / upFactor);
  const phaseStep = downFactor % upFactor;
  let inputIndex = 0;
  let phase = 0;

  for (let n = 0; n < output.length; n++) {
    const tapOffset = phase * tapsPerPhase;
    const start = inputIndex + 1;
    let sum0 = 0;
    let sum1 = 0;
    let j = 0;
    // Two accumulators let the CPU overlap the multiply-adds.
    for (; j + 1 < tapsPerPhase; j += 2) {
      sum0 += padded[start + j] * taps[tapOffset + j];
      sum1 += padded[start + j + 1] * taps[tapOffset + j + 1];
    }
    for (; j < tapsPerPhase; j++) sum0 += padded[start + j] * taps[tapOffset + j];
    output[n] = sum0 + sum1;

    inputIndex += wholeStep;
    phase += phaseStep;
    if (phase >= upFactor) {
      phase -= upFactor;
      inputIndex += 1;
    }
  }
}

/** Convolves for ratios whose output times fall between stored phases, interpolating the taps of the two nearest. */
function convolveInterpolated(
  padded: Float32Array,
  output: Float32Array,
  kernel: PolyphaseKernel,
  upFactor: number,
  downFactor: number,
): void {
  const { taps, tapsPerPhase } = kernel;
  const tablePhases = kernel.phaseCount - 1;
  const wholeStep = Math.floor(downFactor / upFactor);
  const phaseStep = downFactor % upFactor;
  let inputIndex = 0;
  let phase = 0;

  for (let n = 0; n < output.length; n++) {
    const position = (phase / upFactor) * tablePhases;
    const lower = Math.floor(position);
    const weight = position - lower;
    const lowerOffset = lower * tapsPerPhase;
    const upperOffset = lowerOffset + tapsPerPhase;
    const start = inputIndex + 1;
    let sumLower = 0;
    let sumUpper = 0;
    for (let j = 0; j < tapsPerPhase; j++) {
      const x = padded[start + j];
      sumLower += x * taps[lowerOffset + j];
      sumUpper += x * taps[upperOffset + j];
    }
    output[n] = sumLower + weight * (sumUpper - sumLower);

    inputIndex += wholeStep;
    phase += phaseStep;
    if (phase >= upFactor) {
      phase -= upFactor;
      inputIndex += 1;
    }
  }
}
