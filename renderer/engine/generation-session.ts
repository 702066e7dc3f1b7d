// One generation request in the engine worker: prime the recurrent state with the prompt,
// then sample, streaming each chunk to the UI as soon as the GPU has produced it.

import { decodeCodes } from '../../audio/mulaw';
import type { BackboneGenerator } from '../../gpu/generate/backbone';
import { backendError } from './backend-errors';
import { engineError } from './errors';
import { promptTail } from './limits';
import type { EngineEvent, GenerateConfig } from './protocol';

/** Prompt codes fed per BackboneGenerator.step call; each call returns (and allocates) their logits. */
const PROMPT_PIECE_SAMPLES = 4096;

/** Seconds of audio per streamed chunk: small enough that the waveform grows smoothly. */
const CHUNK_SEC = 0.125;

/** Checks a generation request against the model's rate; returns the problem as a sentence, or null. */
export function checkGenerateConfig(config: GenerateConfig, modelRateHz: number): string | null {
  if (config.sampleRateHz !== modelRateHz) return `The request is at ${config.sampleRateHz} Hz, but the model generates at ${modelRateHz} Hz.`;
  if (!(config.lengthSec > 0 && config.lengthSec <= 3600)) return `Length ${config.lengthSec} s is outside (0, 3600] seconds.`;
  if (!(config.temperature > 0 && config.temperature <= 100)) return `Temperature ${config.temperature} is outside (0, 100].`;
  if (!(config.topP > 0 && config.topP <= 1)) return `Top-p ${config.topP} is outside (0, 1].`;
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > 0xffffffff) return `Seed ${config.seed} is not an integer in 0..4294967295.`;
  return null;
}

export interface GenerationDependencies {
  generator: BackboneGenerator;
  emit(event: EngineEvent): void;
  signal: AbortSignal;
}

/**
 * Runs one generation to its end and reports it with events: `generateChunk` for each
 * chunk, then exactly one `generateEnd` (complete, stopped, or failed with the error).
 */
export async function runGeneration(deps: GenerationDependencies, config: GenerateConfig, promptCodes: Uint8Array | null): Promise<void> {
  const { generator, emit, signal } = deps;
  const sampleRateHz = config.sampleRateHz;
  const total = Math.max(1, Math.round(config.lengthSec * sampleRateHz));
  let delivered = 0;
  try {
    generator.reset();
    if (promptCodes && promptCodes.length > 0) {
      const prompt = promptTail(promptCodes, sampleRateHz);
      // Teacher forcing through the recurrent kernel: exact, and in constant GPU memory.
      for (let start = 0; start < prompt.length; start += PROMPT_PIECE_SAMPLES) {
        if (signal.aborted) {
          emit({ kind: 'event', type: 'generateEnd', totalSamples: 0, reason: 'stopped' });
          return;
        }
        await generator.step(prompt.subarray(start, start + PROMPT_PIECE_SAMPLES));
      }
    }

    const result = await generator.generate({
      samples: total,
      temperature: config.temperature,
      topP: config.topP,
      seed: config.seed,
      chunkSamples: Math.max(1, Math.round(CHUNK_SEC * sampleRateHz)),
      signal,
      onChunk: (codes, startSample) => {
        const chunk = codes[0];
        if (!(chunk instanceof Uint8Array)) throw engineError('internal', 'The generator returned codes wider than 8 bits for an audio model.');
        delivered = startSample + chunk.length;
        emit({ kind: 'event', type: 'generateChunk', samples: decodeCodes(chunk, 'mu-law'), codes: chunk.slice(), startSample, sampleRateHz });
      },
    });
    emit({ kind: 'event', type: 'generateEnd', totalSamples: result.samples, reason: result.aborted ? 'stopped' : 'complete' });
  } catch (error) {
    emit({ kind: 'event', type: 'generateEnd', totalSamples: delivered, reason: 'failed', error: backendError(error) });
  }
}
