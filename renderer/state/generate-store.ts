// Generation state: settings, the audio generated so far (appended chunk by chunk as the
// worker streams it), gapless playback of the chunks, and WAV export.

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import type { EngineError, GenerateConfig } from '../engine/protocol';
import type { Platform } from '../platform';
import type { ClipEntry } from './library-store';
import { sliceByRegion } from './spans';

export type GenerateStatus = 'idle' | 'starting' | 'generating' | 'stopping' | 'finished' | 'stopped' | 'failed';

export interface GenerateSettings extends Omit<GenerateConfig, 'sampleRateHz'> {
  /** Prime the model with the selected clip's region (or whole clip). */
  usePrompt: boolean;
}

/** Audio output as the store uses it; GaplessPlayer implements it. */
export interface ChunkPlayer {
  start(): Promise<void>;
  enqueue(samples: Float32Array): void;
  stop(): void;
}

export interface GenerateState {
  settings: GenerateSettings;
  status: GenerateStatus;
  sampleRateHz: number;
  /** Generated chunks in order; `totalSamples` is the sum of their lengths. */
  chunks: Float32Array[];
  totalSamples: number;
  /** Whether chunks are sent to the speakers as they arrive. */
  playWhileGenerating: boolean;
  error: EngineError | null;
  setSettings(patch: Partial<GenerateSettings>): void;
  setPlayWhileGenerating(play: boolean): void;
  start(promptClip: ClipEntry | null): Promise<void>;
  stop(): Promise<void>;
  appendChunk(samples: Float32Array, startSample: number): void;
  finish(reason: 'complete' | 'stopped'): void;
  exportWav(): Promise<void>;
  clearError(): void;
}

export const DEFAULT_GENERATE_SETTINGS: GenerateSettings = {
  lengthSec: 4,
  temperature: 1,
  topP: 0.95,
  seed: 0,
  usePrompt: true,
};

export interface GenerateDependencies {
  getEngine(): EngineApi;
  platform: Platform;
  sampleRateHz: number;
  createPlayer(sampleRateHz: number): ChunkPlayer;
  encodeWav(samples: Float32Array, sampleRateHz: number): Uint8Array;
  reportProblem(title: string, message: string, hint: string): void;
}

/** Joins chunks into one array. */
export function concatChunks(chunks: readonly Float32Array[], totalSamples: number): Float32Array {
  const joined = new Float32Array(totalSamples);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** Checks generation settings; returns a problem as a sentence, or null when they are valid. */
export function checkGenerateSettings(settings: GenerateSettings): string | null {
  if (!(settings.lengthSec > 0 && settings.lengthSec <= 600)) return `Length ${settings.lengthSec} s is outside (0, 600] seconds.`;
  if (!(settings.temperature > 0 && settings.temperature <= 5)) return `Temperature ${settings.temperature} is outside (0, 5].`;
  if (!(settings.topP > 0 && settings.topP <= 1)) return `Top-p ${settings.topP} is outside (0, 1].`;
  if (!Number.isSafeInteger(settings.seed) || settings.seed < 0) return `Seed ${settings.seed} is not a non-negative integer.`;
  return null;
}

export function createGenerateStore(deps: GenerateDependencies): StoreApi<GenerateState> {
  let player: ChunkPlayer | null = null;

  return createStore<GenerateState>()((set, get) => ({
    settings: { ...DEFAULT_GENERATE_SETTINGS },
    status: 'idle',
    sampleRateHz: deps.sampleRateHz,
    chunks: [],
    totalSamples: 0,
    playWhileGenerating: true,
    error: null,

    setSettings: (patch) => set((state) => ({ settings: { ...state.settings, ...patch } })),
    setPlayWhileGenerating: (play) => set({ playWhileGenerating: play }),

    async start(promptClip) {
      const { settings } = get();
      const problem = checkGenerateSettings(settings);
      if (problem) {
        set({ status: 'failed', error: engineError('invalid-request', problem, 'Correct the setting and press Generate again.') });
        return;
      }
      let promptCodes: Uint8Array | null = null;
      if (settings.usePrompt && promptClip?.model) {
        promptCodes = sliceByRegion(promptClip.model.codes, promptClip.model.sampleRateHz, promptClip.region);
      }

      player?.stop();
      player = null;
      set({ status: 'starting', chunks: [], totalSamples: 0, error: null });
      if (get().playWhileGenerating) {
        player = deps.createPlayer(deps.sampleRateHz);
        await player.start();
      }

      const { usePrompt: _usePrompt, ...rest } = settings;
      try {
        await deps.getEngine().request('generate', {
          action: 'start',
          config: { ...rest, sampleRateHz: deps.sampleRateHz },
          promptCodes,
        });
        if (get().status === 'starting') set({ status: 'generating' });
      } catch (error) {
        player?.stop();
        set({ status: 'failed', error: toEngineError(error) });
      }
    },

    async stop() {
      player?.stop();
      if (get().status !== 'generating' && get().status !== 'starting') return;
      set({ status: 'stopping' });
      try {
        await deps.getEngine().request('generate', { action: 'stop' });
      } catch (error) {
        set({ status: 'failed', error: toEngineError(error) });
      }
    },

    appendChunk(samples, startSample) {
      const { totalSamples } = get();
      if (startSample !== totalSamples) {
        // A gap or overlap means a lost or repeated chunk; playing on would misplace the audio.
        console.warn(`[generate] chunk starts at sample ${startSample}, expected ${totalSamples}; dropping it`);
        return;
      }
      player?.enqueue(samples);
      set((state) => ({
        chunks: [...state.chunks, samples],
        totalSamples: state.totalSamples + samples.length,
        status: state.status === 'starting' ? 'generating' : state.status,
      }));
    },

    finish(reason) {
      set({ status: reason === 'complete' ? 'finished' : 'stopped' });
    },

    async exportWav() {
      const { chunks, totalSamples, sampleRateHz } = get();
      if (totalSamples === 0) {
        deps.reportProblem('Nothing to export', 'No audio has been generated yet.', 'Press Generate first.');
        return;
      }
      try {
        const bytes = deps.encodeWav(concatChunks(chunks, totalSamples), sampleRateHz);
        await deps.platform.saveFile('wav', 'generated.wav', bytes);
      } catch (error) {
        deps.reportProblem('Could not export the WAV file', (error as Error).message, 'Choose another folder and try again.');
      }
    },

    clearError: () => set({ error: null }),
  }));
}
