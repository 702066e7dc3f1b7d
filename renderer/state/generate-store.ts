// Generation state: settings, the audio generated so far (appended chunk by chunk as the
// worker streams it), gapless playback of the chunks while they arrive, the finished take
// as a WAV file for the waveform's player, and WAV export.

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import { promptTail } from '../engine/limits';
import type { EngineError, GenerateConfig, GenerateEndReason } from '../engine/protocol';
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
  /** Whether audio is sounding, and the audio clock; absent in players without a clock. */
  status?(): { playing: boolean; clockSec: number; bufferedSec: number; underruns: number };
  /** Releases the audio device; the player cannot be used afterwards. */
  close?(): Promise<void>;
}

export interface GenerateState {
  settings: GenerateSettings;
  status: GenerateStatus;
  sampleRateHz: number;
  /** Generated chunks in order; `totalSamples` is the sum of their lengths. */
  chunks: Float32Array[];
  /** The mu-law codes of each chunk, for inspecting the generated audio. */
  codeChunks: Uint8Array[];
  totalSamples: number;
  /** Codes that primed the model for this take (the prompt's tail), or null without a prompt. */
  promptCodes: Uint8Array | null;
  /** Name of the clip the prompt came from. */
  promptName: string | null;
  /** The finished (or stopped) take as a 16-bit WAV file, played by the waveform; null while generating. */
  takeWav: Uint8Array | null;
  /** Increments with every take, so views can tell takes apart. */
  takeNumber: number;
  /** Whether chunks are sent to the speakers as they arrive. */
  playWhileGenerating: boolean;
  error: EngineError | null;
  setSettings(patch: Partial<GenerateSettings>): void;
  setPlayWhileGenerating(play: boolean): void;
  start(promptClip: ClipEntry | null): Promise<void>;
  stop(): Promise<void>;
  appendChunk(samples: Float32Array, codes: Uint8Array, startSample: number): void;
  /** Ends the take; a failed take comes with its error. */
  finish(reason: GenerateEndReason, error?: EngineError): void;
  /** Silences the chunks still scheduled on the live player, e.g. when the finished take starts playing. */
  stopLivePlayback(): void;
  /** Status of the gapless player that plays chunks while they arrive, or null when none runs. */
  livePlaybackStatus(): { playing: boolean; clockSec: number; bufferedSec: number; underruns: number } | null;
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

/** Status of a take after the engine's generateEnd event. */
const END_STATUS: Record<GenerateEndReason, GenerateStatus> = { complete: 'finished', stopped: 'stopped', failed: 'failed' };

/** Maximum length of a take, in seconds. */
export const MAX_LENGTH_SEC = 600;

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

/** Joins code chunks into one array. */
export function concatCodes(chunks: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** Checks generation settings; returns a problem as a sentence, or null when they are valid. */
export function checkGenerateSettings(settings: GenerateSettings): string | null {
  if (!(settings.lengthSec > 0 && settings.lengthSec <= MAX_LENGTH_SEC)) return `Length ${settings.lengthSec} s is outside (0, ${MAX_LENGTH_SEC}] seconds.`;
  if (!(settings.temperature > 0 && settings.temperature <= 5)) return `Temperature ${settings.temperature} is outside (0, 5].`;
  if (!(settings.topP > 0 && settings.topP <= 1)) return `Top-p ${settings.topP} is outside (0, 1].`;
  if (!Number.isSafeInteger(settings.seed) || settings.seed < 0) return `Seed ${settings.seed} is not a non-negative integer.`;
  return null;
}

export function createGenerateStore(deps: GenerateDependencies): StoreApi<GenerateState> {
  let player: ChunkPlayer | null = null;

  const stopPlayer = (): void => {
    player?.stop();
    void player?.close?.();
    player = null;
  };

  return createStore<GenerateState>()((set, get) => ({
    settings: { ...DEFAULT_GENERATE_SETTINGS },
    status: 'idle',
    sampleRateHz: deps.sampleRateHz,
    chunks: [],
    codeChunks: [],
    totalSamples: 0,
    promptCodes: null,
    promptName: null,
    takeWav: null,
    takeNumber: 0,
    playWhileGenerating: true,
    error: null,

    setSettings: (patch) => set((state) => ({ settings: { ...state.settings, ...patch } })),
    setPlayWhileGenerating: (play) => set({ playWhileGenerating: play }),

    async start(promptClip) {
      const { settings } = get();
      const problem = checkGenerateSettings(settings);
      if (problem) {
        set({ status: 'failed', error: engineError('invalid-input', problem, 'Correct the setting and press Generate again.') });
        return;
      }
      let promptCodes: Uint8Array | null = null;
      if (settings.usePrompt && promptClip?.model) {
        const span = sliceByRegion(promptClip.model.codes, promptClip.model.sampleRateHz, promptClip.region);
        promptCodes = span.length > 0 ? promptTail(span, promptClip.model.sampleRateHz).slice() : null;
      }

      stopPlayer();
      set((state) => ({
        status: 'starting',
        chunks: [],
        codeChunks: [],
        totalSamples: 0,
        promptCodes,
        promptName: promptCodes ? (promptClip?.fileName ?? null) : null,
        takeWav: null,
        takeNumber: state.takeNumber + 1,
        error: null,
      }));
      if (get().playWhileGenerating) {
        player = deps.createPlayer(deps.sampleRateHz);
        try {
          await player.start();
        } catch (error) {
          // Generation goes on without sound; the finished take can still be played.
          console.warn('[generate] the audio output could not start:', error);
          player = null;
        }
      }

      const { usePrompt: _usePrompt, ...rest } = settings;
      try {
        await deps.getEngine().request('generate', {
          action: 'start',
          config: { ...rest, sampleRateHz: deps.sampleRateHz },
          // A copy: the request transfers its buffers, and the store keeps the prompt for inspection.
          promptCodes: promptCodes ? promptCodes.slice() : null,
        });
        if (get().status === 'starting') set({ status: 'generating' });
      } catch (error) {
        stopPlayer();
        set({ status: 'failed', error: toEngineError(error) });
      }
    },

    async stop() {
      stopPlayer();
      if (get().status !== 'generating' && get().status !== 'starting') return;
      set({ status: 'stopping' });
      try {
        await deps.getEngine().request('generate', { action: 'stop' });
      } catch (error) {
        set({ status: 'failed', error: toEngineError(error) });
      }
    },

    appendChunk(samples, codes, startSample) {
      const { totalSamples, status } = get();
      // Chunks of a take that was stopped and replaced may still be on their way.
      if (status !== 'starting' && status !== 'generating' && status !== 'stopping') return;
      if (startSample !== totalSamples) {
        // A gap or overlap means a lost or repeated chunk; playing on would misplace the audio.
        console.warn(`[generate] chunk starts at sample ${startSample}, expected ${totalSamples}; dropping it`);
        return;
      }
      player?.enqueue(samples);
      set((state) => ({
        chunks: [...state.chunks, samples],
        codeChunks: [...state.codeChunks, codes],
        totalSamples: state.totalSamples + samples.length,
        status: state.status === 'starting' ? 'generating' : state.status,
      }));
    },

    finish(reason, error) {
      const { chunks, totalSamples, sampleRateHz } = get();
      let takeWav: Uint8Array | null = null;
      if (totalSamples > 0) {
        try {
          takeWav = deps.encodeWav(concatChunks(chunks, totalSamples), sampleRateHz);
        } catch (encodeError) {
          console.warn('[generate] could not encode the take for playback:', encodeError);
        }
      }
      const status = END_STATUS[reason];
      set(error ? { status, takeWav, error } : { status, takeWav });
    },

    stopLivePlayback() {
      player?.stop();
    },

    livePlaybackStatus() {
      return player?.status?.() ?? null;
    },

    async exportWav() {
      const { chunks, totalSamples, sampleRateHz, takeWav } = get();
      if (totalSamples === 0) {
        deps.reportProblem('Nothing to export', 'No audio has been generated yet.', 'Press Generate first.');
        return;
      }
      try {
        const bytes = takeWav ?? deps.encodeWav(concatChunks(chunks, totalSamples), sampleRateHz);
        await deps.platform.saveFile('wav', 'generated.wav', bytes);
      } catch (error) {
        deps.reportProblem('Could not export the WAV file', (error as Error).message, 'Choose another folder and try again.');
      }
    },

    clearError: () => set({ error: null }),
  }));
}
