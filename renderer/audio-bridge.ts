// The renderer's only door into audio/: turns file bytes into what the library shows and
// the engine consumes, and returns decoding problems as values the UI can print.

import {
  AudioDecodeError,
  DEFAULT_MODEL_RATE_HZ,
  decodeAudio,
  encodeWav,
  prepareCodes,
  type AudioFormatInfo,
  type AudioDecodeErrorCode,
} from '../audio/index';

export { DEFAULT_MODEL_RATE_HZ };
export type ClipFormat = AudioFormatInfo;

/** A clip as the model hears it: mono at the model rate, peak-normalised, with mu-law codes. */
export interface ModelAudio {
  sampleRateHz: number;
  samples: Float32Array;
  /** One mu-law code (0..255) per sample. */
  codes: Uint8Array;
  /** Factor the normalisation applied. */
  gain: number;
}

export interface ClipProblem {
  code: AudioDecodeErrorCode | 'internal';
  /** Description of the problem, as a sentence. */
  message: string;
  /** Advice on what the user can do about it. */
  hint: string;
}

export type ClipLoadResult =
  | {
      ok: true;
      format: ClipFormat;
      /** Null when the file decodes but cannot be used by the model (too short, silent). */
      model: ModelAudio | null;
      /** Reason `model` is null. */
      unusable: ClipProblem | null;
      warnings: string[];
    }
  | { ok: false; problem: ClipProblem };

/** Decodes and prepares a clip. Problems with the file come back as values, not exceptions. */
export async function loadClip(bytes: Uint8Array, fileName: string): Promise<ClipLoadResult> {
  let decoded;
  try {
    decoded = await decodeAudio(bytes, fileName);
  } catch (error) {
    return { ok: false, problem: describeProblem(error) };
  }

  try {
    const prepared = prepareCodes(decoded, { sampleRateHz: DEFAULT_MODEL_RATE_HZ });
    return {
      ok: true,
      format: decoded.info,
      model: { sampleRateHz: prepared.sampleRateHz, samples: prepared.samples, codes: prepared.codes, gain: prepared.gain },
      unusable: null,
      warnings: prepared.warnings,
    };
  } catch (error) {
    // A clip that decodes but is too short or silent is still listed, so its format shows.
    if (error instanceof AudioDecodeError) {
      return { ok: true, format: decoded.info, model: null, unusable: describeProblem(error), warnings: decoded.warnings };
    }
    return { ok: false, problem: describeProblem(error) };
  }
}

/** Encodes mono samples as a 16-bit PCM WAV file. */
export function encodeMonoWav(samples: Float32Array, sampleRateHz: number): Uint8Array {
  return encodeWav([samples], sampleRateHz, 'pcm16').bytes;
}

function describeProblem(error: unknown): ClipProblem {
  if (error instanceof AudioDecodeError) {
    return { code: error.code, message: capitalize(error.reason) + '.', hint: error.hint.endsWith('.') ? error.hint : `${error.hint}.` };
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error('[audio-bridge] unexpected error while decoding:', error);
  return { code: 'internal', message: `Decoding failed unexpectedly: ${message}`, hint: 'Please report this file together with the message.' };
}

function capitalize(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}
