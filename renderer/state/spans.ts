// Cutting a clip's model audio by a region, and splitting a training span into training
// and validation parts. Every result is a copy, because engine requests transfer (and so
// detach) the buffers they carry.

import type { Region } from './library-store';

/** Copies the samples or codes of `region` (the whole array when region is null). */
export function sliceByRegion<T extends Uint8Array | Float32Array>(data: T, sampleRateHz: number, region: Region | null): T {
  if (!region) return data.slice() as T;
  const start = Math.max(0, Math.min(data.length, Math.round(region.startSec * sampleRateHz)));
  const end = Math.max(start, Math.min(data.length, Math.round(region.endSec * sampleRateHz)));
  return data.slice(start, end) as T;
}

export type TrainingSplit =
  | { ok: true; trainCodes: Uint8Array; validationCodes: Uint8Array }
  | { ok: false; message: string; hint: string };

/**
 * Splits codes into a training part and a validation part taken from the end, so the
 * validation loss measures audio the model has not trained on. Each part must hold at
 * least one window of `windowSamples` plus the one sample that the last prediction needs.
 */
export function splitForTraining(codes: Uint8Array, validationFraction: number, windowSamples: number): TrainingSplit {
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    return { ok: false, message: `The validation fraction ${validationFraction} is outside [0, 1).`, hint: 'Choose a value such as 0.1.' };
  }
  const needed = windowSamples + 1;
  const validationLength = Math.round(codes.length * validationFraction);
  const trainLength = codes.length - validationLength;
  if (trainLength < needed) {
    return {
      ok: false,
      message: `The training span has ${trainLength} samples, fewer than one window of ${windowSamples} samples plus one.`,
      hint: 'Select a longer region, or lower the window length.',
    };
  }
  if (validationLength > 0 && validationLength < needed) {
    return {
      ok: false,
      message: `The validation part has ${validationLength} samples, fewer than one window of ${windowSamples} samples plus one.`,
      hint: 'Raise the validation fraction, select a longer region, or set the fraction to 0 to skip validation.',
    };
  }
  return { ok: true, trainCodes: codes.slice(0, trainLength), validationCodes: codes.slice(trainLength) };
}
