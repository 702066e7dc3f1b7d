// Turns a user's clip into what the model trains on: mono, at the model rate, peak-normalised,
// quantised to 8-bit codes.
//
// Normalisation policy: each clip is scaled so that its largest absolute sample equals
// targetPeak (default 1.0, the full code range). SaShiMi's loader (state-spaces/s4,
// src/dataloaders/audio.py) min-max scales each clip to [-1, 1] instead, which also shifts
// the clip by -(max + min) / 2. For a clip whose positive and negative peaks differ, that shift
// moves silence off zero, away from code 128 (the code the model is padded with), and into
// coarser mu-law bins. Peak scaling keeps zero at zero and uses the same range for symmetric
// clips. Set normalization to 'none' to keep the recorded level.

import { decodeAudio } from './decode';
import { downmixToMono, selectChannel } from './downmix';
import { AudioDecodeError } from './errors';
import { encodeSamples, type Quantization } from './mulaw';
import { resample, type ResamplerOptions } from './resample';
import type { AudioFormatInfo, DecodedAudio } from './types';

/** Sample rate of the model's audio in Hz, as in the SaShiMi and Mamba audio experiments. */
export const DEFAULT_MODEL_RATE_HZ = 16000;
/**
 * Shortest clip accepted for training by default. It is a judgement call, not a measured
 * limit: a quarter second at 16 kHz gives only a few training windows.
 */
export const DEFAULT_MIN_DURATION_SEC = 0.25;

export interface PrepareOptions {
  /** Output sample rate in Hz. Default 16000. */
  sampleRateHz?: number;
  /** 'mix' averages all channels (default), and a number selects that channel, counting from 0. */
  channel?: 'mix' | number;
  /** 'peak' (default) scales each clip to targetPeak, and 'none' keeps the level as recorded. */
  normalization?: 'peak' | 'none';
  /** Largest absolute sample after 'peak' normalisation, in (0, 1]. Default 1.0. */
  targetPeak?: number;
  /** Shortest accepted clip in seconds, measured on the decoded file. Default 0.25. */
  minDurationSec?: number;
  resampler?: ResamplerOptions;
}

/** A clip as the model hears it, before quantisation. */
export interface PreparedAudio {
  fileName: string;
  /** Format of the file as stored. */
  source: AudioFormatInfo;
  sampleRateHz: number;
  /** Mono samples at sampleRateHz after normalisation. */
  samples: Float32Array;
  /** Factor applied by normalisation (1 when it is off). */
  gain: number;
  /** Decoder warnings followed by conversion warnings. */
  warnings: string[];
}

/** A prepared clip plus its 8-bit codes. */
export interface PreparedClip extends PreparedAudio {
  quantization: Quantization;
  /** One code 0..255 per sample of `samples`. */
  codes: Uint8Array;
}

/** Peaks below this (-60 dBFS) get a warning, because normalisation lifts their noise floor too. */
const QUIET_PEAK = 1e-3;

function checkOptions(options: PrepareOptions): void {
  const { sampleRateHz, targetPeak, minDurationSec } = options;
  if (sampleRateHz !== undefined && !(Number.isInteger(sampleRateHz) && sampleRateHz > 0)) {
    throw new RangeError(`prepare: sampleRateHz must be a positive integer, got ${sampleRateHz}`);
  }
  if (targetPeak !== undefined && !(targetPeak > 0 && targetPeak <= 1)) {
    throw new RangeError(`prepare: targetPeak must lie in (0, 1], got ${targetPeak}`);
  }
  if (minDurationSec !== undefined && !(minDurationSec >= 0)) {
    throw new RangeError(`prepare: minDurationSec must be at least 0, got ${minDurationSec}`);
  }
}

function peakOf(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const magnitude = Math.abs(samples[i]);
    if (magnitude > peak) peak = magnitude;
  }
  return peak;
}

/**
 * Converts a decoded clip to mono at the model rate and normalises it.
 * Throws AudioDecodeError 'too-short' or 'silent' for clips that cannot be trained on,
 * and RangeError for invalid options or a channel index that the clip does not have.
 */
export function prepareSamples(decoded: DecodedAudio, options: PrepareOptions = {}): PreparedAudio {
  checkOptions(options);
  const sampleRateHz = options.sampleRateHz ?? DEFAULT_MODEL_RATE_HZ;
  const minDurationSec = options.minDurationSec ?? DEFAULT_MIN_DURATION_SEC;
  const warnings = [...decoded.warnings];
  const { fileName, info } = decoded;

  if (info.durationSec < minDurationSec) {
    throw new AudioDecodeError(
      'too-short',
      fileName,
      `the clip lasts ${info.durationSec.toFixed(3)} s, shorter than the ${minDurationSec} s needed for training`,
      'Use a longer recording, or join short clips into one file',
    );
  }

  let mono: Float32Array;
  const channel = options.channel ?? 'mix';
  if (channel === 'mix') {
    const mixed = downmixToMono(decoded.channelData);
    mono = mixed.samples;
    warnings.push(...mixed.warnings);
  } else {
    mono = selectChannel(decoded.channelData, channel);
  }

  const samples = resample(mono, info.sampleRateHz, sampleRateHz, options.resampler);

  const peak = peakOf(samples);
  if (peak === 0) {
    throw new AudioDecodeError(
      'silent',
      fileName,
      channel === 'mix' ? 'every sample of the clip is zero' : `every sample of channel ${channel} is zero`,
      'Check that the recording has sound, or select another channel',
    );
  }

  let gain = 1;
  if ((options.normalization ?? 'peak') === 'peak') {
    gain = (options.targetPeak ?? 1) / peak;
    for (let i = 0; i < samples.length; i++) samples[i] *= gain;
    if (peak < QUIET_PEAK) {
      warnings.push(
        `The clip is very quiet (peak ${(20 * Math.log10(peak)).toFixed(1)} dBFS); normalisation raised it by ${(20 * Math.log10(gain)).toFixed(1)} dB, noise included.`,
      );
    }
  } else if (peak > 1) {
    warnings.push(
      `The clip peaks at ${peak.toFixed(3)}, above full scale; quantisation and 16-bit export clip every sample beyond 1.`,
    );
  }
  return { fileName, source: info, sampleRateHz, samples, gain, warnings };
}

/** Prepares a decoded clip and quantises it. Throws as prepareSamples does. */
export function prepareCodes(decoded: DecodedAudio, options: PrepareOptions & { quantization?: Quantization } = {}): PreparedClip {
  const prepared = prepareSamples(decoded, options);
  const quantization = options.quantization ?? 'mu-law';
  return { ...prepared, quantization, codes: encodeSamples(prepared.samples, quantization) };
}

/**
 * Decodes a file and prepares it for the model: what the trainer and the app call.
 * Throws AudioDecodeError for files that cannot be used, as decodeAudio and prepareSamples do.
 */
export async function prepareClip(
  bytes: Uint8Array,
  fileName: string,
  options: PrepareOptions & { quantization?: Quantization } = {},
): Promise<PreparedClip> {
  return prepareCodes(await decodeAudio(bytes, fileName), options);
}
