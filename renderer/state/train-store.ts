// Fine-tuning state: the configuration, the run's status, the loss history drawn by the
// chart, and the checkpoints saved by the platform.

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import type { CheckpointReason, EngineError, TrainConfig, TrainProgress, TrainRunState } from '../engine/protocol';
import type { CheckpointMeta, Platform } from '../platform';
import type { ClipEntry } from './library-store';
import { sliceByRegion, splitForTraining } from './spans';

export type TrainStatus = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'finished' | 'failed';

export interface LossPoint {
  step: number;
  /** Training loss in nats per sample, or null for a point that only has a validation loss. */
  loss: number | null;
  valLoss?: number;
}

export interface TrainState {
  config: TrainConfig;
  status: TrainStatus;
  /** Name of the clip being trained on. */
  clipName: string | null;
  history: LossPoint[];
  latest: TrainProgress | null;
  checkpoints: CheckpointMeta[];
  error: EngineError | null;
  setConfig(patch: Partial<TrainConfig>): void;
  start(clip: ClipEntry | null): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  refreshCheckpoints(): Promise<void>;
  deleteCheckpoint(id: string): Promise<void>;
  /** Reads a stored checkpoint and loads it into the engine; returns whether it loaded. */
  loadCheckpoint(id: string): Promise<boolean>;
  /** Saves a stored checkpoint where the user chooses. */
  exportCheckpoint(id: string): Promise<void>;
  applyProgress(progress: TrainProgress): void;
  /** Applies a run state from the engine; a failed run comes with its error. */
  applyRunState(state: TrainRunState, error?: EngineError): void;
  /** Stores a checkpoint event's weights with the platform and lists them. */
  storeCheckpoint(step: number, loss: number | null, reason: CheckpointReason, bytes: Uint8Array): Promise<void>;
  clearError(): void;
}

/**
 * Fine-tuning defaults: the engine's training defaults (gpu/train/trainer.ts) with half its
 * peak learning rate, since a fine-tune starts from trained weights, and validation twice
 * as often, since fine-tunes are short.
 */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  learningRate: 1e-3,
  batchSize: 4,
  windowSamples: 2048,
  maxSteps: 200,
  validationFraction: 0.1,
  weightDecay: 0.1,
  gradClipNorm: 1,
  validateEverySteps: 25,
  checkpointEverySteps: 50,
  seed: 0,
};

/** Points kept for the chart; older ones are thinned out to every other point. */
export const MAX_HISTORY_POINTS = 4000;

export interface TrainDependencies {
  getEngine(): EngineApi;
  platform: Platform;
  /** Loads checkpoint bytes into the engine and reports its errors; returns whether it loaded. */
  loadCheckpointIntoEngine(bytes: Uint8Array, name: string): Promise<boolean>;
  reportProblem(title: string, message: string, hint: string): void;
  now(): number;
}

/**
 * Appends a point, halving the older half of the history when it grows past the cap. A
 * point for the same step as the last one (its validation loss) is merged into it.
 */
export function appendLossPoint(history: readonly LossPoint[], point: LossPoint, max = MAX_HISTORY_POINTS): LossPoint[] {
  const last = history.at(-1);
  if (last && last.step === point.step) {
    const merged: LossPoint = { step: point.step, loss: point.loss ?? last.loss };
    const valLoss = point.valLoss ?? last.valLoss;
    if (valLoss !== undefined) merged.valLoss = valLoss;
    return [...history.slice(0, -1), merged];
  }
  const next = [...history, point];
  if (next.length <= max) return next;
  const half = Math.floor(next.length / 2);
  // Points with a validation loss are kept: there are few of them and each one matters.
  const thinned = next.slice(0, half).filter((entry, index) => index % 2 === 0 || entry.valLoss !== undefined);
  return [...thinned, ...next.slice(half)];
}

/** Builds a storage id from the step and time: lowercase letters, digits and dashes only. */
export function checkpointId(step: number, nowMs: number): string {
  return `ckpt-${nowMs.toString(36)}-${step}`;
}

export function createTrainStore(deps: TrainDependencies): StoreApi<TrainState> {
  return createStore<TrainState>()((set, get) => {
    async function send(payload: { action: 'pause' | 'resume' | 'stop' }): Promise<boolean> {
      try {
        await deps.getEngine().request('train', payload);
        return true;
      } catch (error) {
        set({ error: toEngineError(error) });
        return false;
      }
    }

    return {
      config: { ...DEFAULT_TRAIN_CONFIG },
      status: 'idle',
      clipName: null,
      history: [],
      latest: null,
      checkpoints: [],
      error: null,

      setConfig: (patch) => set((state) => ({ config: { ...state.config, ...patch } })),

      async start(clip) {
        if (!clip || !clip.model) {
          set({
            status: 'failed',
            error: engineError('invalid-input', 'No usable clip is selected.', 'Open a clip in the Library, select it, and optionally mark a region to train on.'),
          });
          return;
        }
        const { config } = get();
        const span = sliceByRegion(clip.model.codes, clip.model.sampleRateHz, clip.region);
        const split = splitForTraining(span, config.validationFraction, config.windowSamples);
        if (!split.ok) {
          set({ status: 'failed', error: engineError('invalid-input', split.message, split.hint) });
          return;
        }

        set({ status: 'starting', clipName: clip.fileName, history: [], latest: null, error: null });
        try {
          await deps.getEngine().request('train', {
            action: 'start',
            config,
            trainCodes: split.trainCodes,
            validationCodes: split.validationCodes,
          });
          // The worker's trainState event normally arrives first; this covers an engine that sends none.
          if (get().status === 'starting') set({ status: 'running' });
        } catch (error) {
          set({ status: 'failed', error: toEngineError(error) });
        }
      },

      // The engine's trainState events normally set the status before the response arrives,
      // and they win: a run may have finished or failed instead of pausing.
      async pause() {
        if ((await send({ action: 'pause' })) && get().status === 'running') set({ status: 'paused' });
      },
      async resume() {
        if ((await send({ action: 'resume' })) && get().status === 'paused') set({ status: 'running' });
      },
      async stop() {
        set({ status: 'stopping' });
        if (!(await send({ action: 'stop' }))) set({ status: 'failed' });
      },

      async refreshCheckpoints() {
        try {
          set({ checkpoints: await deps.platform.listCheckpoints() });
        } catch (error) {
          deps.reportProblem('Could not list checkpoints', (error as Error).message, 'Reload the app; if it persists, check the app data folder.');
        }
      },

      async deleteCheckpoint(id) {
        try {
          await deps.platform.deleteCheckpoint(id);
          await get().refreshCheckpoints();
        } catch (error) {
          deps.reportProblem('Could not delete the checkpoint', (error as Error).message, 'Try again.');
        }
      },

      async loadCheckpoint(id) {
        const meta = get().checkpoints.find((candidate) => candidate.id === id);
        try {
          const bytes = await deps.platform.readCheckpoint(id);
          return await deps.loadCheckpointIntoEngine(bytes, meta?.label ?? id);
        } catch (error) {
          deps.reportProblem('Could not read the checkpoint', (error as Error).message, 'It may have been deleted; pick another one.');
          return false;
        }
      },

      async exportCheckpoint(id) {
        const meta = get().checkpoints.find((candidate) => candidate.id === id);
        try {
          const bytes = await deps.platform.readCheckpoint(id);
          const name = (meta?.label ?? id).replace(/[^\w.-]+/g, '_');
          await deps.platform.saveFile('checkpoint', `${name}.safetensors`, bytes);
        } catch (error) {
          deps.reportProblem('Could not export the checkpoint', (error as Error).message, 'Choose another folder and try again.');
        }
      },

      applyProgress(progress) {
        const point: LossPoint = { step: progress.step, loss: progress.loss };
        if (progress.valLoss !== undefined) point.valLoss = progress.valLoss;
        set((state) => ({
          // A report with only a validation loss keeps the last training figures on show.
          latest: progress.loss === null && state.latest ? { ...state.latest, valLoss: progress.valLoss } : progress,
          history: appendLossPoint(state.history, point),
          status: state.status === 'starting' ? 'running' : state.status,
        }));
      },

      applyRunState(runState, error) {
        set(error ? { status: runState, error } : { status: runState });
      },

      async storeCheckpoint(step, loss, reason, bytes) {
        const nowMs = deps.now();
        const label = `${get().clipName ?? 'model'} step ${step}${reason === 'final' ? ' (end of run)' : ''}`;
        try {
          await deps.platform.writeCheckpoint({ id: checkpointId(step, nowMs), label, step, loss, createdAtMs: nowMs }, bytes);
          await get().refreshCheckpoints();
        } catch (error) {
          deps.reportProblem('Could not save the checkpoint', (error as Error).message, 'Free some disk space; training goes on and the next checkpoint will try again.');
        }
      },

      clearError: () => set({ error: null }),
    };
  });
}
