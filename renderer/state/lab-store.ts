// Selectivity lab state: the form's settings, the run in progress (its phase, loss curve
// and accuracy checks), and the last finished result of each layer kind, S6 and S4, kept
// side by side so the Lab view can compare them.

import { createStore, type StoreApi } from 'zustand/vanilla';

// Type-only imports from lab.ts: its values would pull the engine's kernels into the UI bundle.
import type { LabCheckReport, LabEvalReport, LabPhase, LabStepReport } from '../../gpu/lab/lab';
import { LAB_DEFAULTS, type LabLayer, type LabOptions } from '../../gpu/lab/options';
import { validateTaskOptions, type TaskOptions } from '../../gpu/lab/tasks';
import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import { MAX_LAB_SEQUENCE_LENGTH, MAX_LAB_STEPS } from '../engine/limits';
import type { EngineError, LabEndReason, LabProgress, LabRunResult } from '../engine/protocol';
import { appendLossPoint, type LossPoint } from './train-store';

export type LabTaskName = TaskOptions['task'];

/**
 * 'quick': sizes that train in well under a minute on a software adapter (about 20 s per
 * Selective Copying run in headless Chromium on lavapipe, 2 CPU cores). 'standard': the
 * sizes of the CLI's defaults (LAB_DEFAULTS), which take several minutes there.
 */
export type LabPresetName = 'quick' | 'standard';

/** Values of the Lab view's form; the preset supplies every other option. */
export interface LabSettings {
  preset: LabPresetName;
  task: LabTaskName;
  layer: LabLayer;
  /** Selective Copying: context positions before the markers. Induction Heads: tokens per sequence. */
  length: number;
  /** Distinct data tokens, not counting noise, marker or trigger. */
  vocab: number;
  /** Selective Copying: data tokens to remember per sequence. Unused by Induction Heads. */
  memorize: number;
  steps: number;
  seed: number;
}

/** Largest data vocabulary the form accepts. */
export const MAX_LAB_VOCAB = 256;

/**
 * The quick preset's sizes. The Selective Copying size is the one test/lab/lab.test.ts
 * trains, with fewer steps: 2 of 8 data tokens among 16 context positions, D 32, N 8.
 */
const QUICK_OVERRIDES: Record<LabTaskName, Partial<LabOptions>> = {
  'selective-copying': {
    task: { task: 'selective-copying', contextLength: 16, dataVocab: 8, memorize: 2 },
    dModel: 32,
    dState: 8,
    steps: 200,
    batchSize: 16,
    warmupSteps: 10,
    evalEvery: 50,
    checkSequences: 32,
    evalSequences: 128,
  },
  'induction-heads': {
    task: { task: 'induction-heads', length: 16, dataVocab: 8 },
    dModel: 32,
    dState: 8,
    steps: 150,
    batchSize: 16,
    warmupSteps: 10,
    evalEvery: 50,
    checkSequences: 32,
    evalSequences: 128,
    evalLengthFactors: [1, 4],
  },
};

/** Returns the full lab options of a preset and task, before the form's values are applied. */
export function presetOptions(preset: LabPresetName, task: LabTaskName): LabOptions {
  const defaults = LAB_DEFAULTS[task];
  const options: LabOptions = preset === 'quick' ? { ...defaults, ...QUICK_OVERRIDES[task] } : { ...defaults };
  return { ...options, task: { ...options.task }, evalLengthFactors: [...options.evalLengthFactors] };
}

/** Tokens to memorize of a preset's Selective Copying task, kept in the form while Induction Heads is chosen. */
function selectiveCopyingMemorize(preset: LabPresetName): number {
  const task = presetOptions(preset, 'selective-copying').task;
  return task.task === 'selective-copying' ? task.memorize : 1;
}

/** Returns the form's values for a preset and task, keeping the layer and the seed. */
export function settingsFromPreset(preset: LabPresetName, task: LabTaskName, keep: Pick<LabSettings, 'layer' | 'seed'>): LabSettings {
  const options = presetOptions(preset, task);
  const taskOptions = options.task;
  return {
    preset,
    task,
    layer: keep.layer,
    length: taskOptions.task === 'selective-copying' ? taskOptions.contextLength : taskOptions.length,
    vocab: taskOptions.dataVocab,
    memorize: taskOptions.task === 'selective-copying' ? taskOptions.memorize : selectiveCopyingMemorize(preset),
    steps: options.steps,
    seed: keep.seed,
  };
}

export const DEFAULT_LAB_SETTINGS: LabSettings = settingsFromPreset('quick', 'selective-copying', { layer: 's6', seed: LAB_DEFAULTS['selective-copying'].seed });

/** Builds the options of a run from the form: the preset's sizes with the form's values. */
export function labOptionsFor(settings: LabSettings): LabOptions {
  const base = presetOptions(settings.preset, settings.task);
  const task: TaskOptions =
    settings.task === 'selective-copying'
      ? { task: 'selective-copying', contextLength: settings.length, dataVocab: settings.vocab, memorize: settings.memorize }
      : { task: 'induction-heads', length: settings.length, dataVocab: settings.vocab };
  // Warm-up and check interval scale down with short runs, so they still leave the warm-up and get checked.
  const warmupSteps = Math.min(base.warmupSteps, Math.floor(settings.steps / 10));
  const evalEvery = settings.steps < base.evalEvery ? 0 : base.evalEvery;
  return { ...base, task, layer: settings.layer, steps: settings.steps, seed: settings.seed, warmupSteps, evalEvery };
}

/** Tokens per model input for the form's values: the context plus the markers, or the sequence. */
export function labSequenceLength(settings: LabSettings): number {
  return settings.task === 'selective-copying' ? settings.length + settings.memorize : settings.length;
}

/** Checks the form; returns the problem as a sentence naming the field, or null when the run can start. */
export function checkLabSettings(settings: LabSettings): string | null {
  const integer = (label: string, value: number, min: number, max: number): string | null =>
    Number.isInteger(value) && value >= min && value <= max ? null : `${label} is ${value}; use a whole number from ${min} to ${max}.`;
  const lengthLabel = settings.task === 'selective-copying' ? 'Sequence length (context positions)' : 'Sequence length';
  const problem =
    integer(lengthLabel, settings.length, settings.task === 'selective-copying' ? 1 : 3, MAX_LAB_SEQUENCE_LENGTH) ??
    integer('Vocabulary', settings.vocab, 2, MAX_LAB_VOCAB) ??
    (settings.task === 'selective-copying' ? integer('Tokens to memorize', settings.memorize, 1, settings.length) : null) ??
    integer('Steps', settings.steps, 1, MAX_LAB_STEPS) ??
    integer('Seed', settings.seed, 0, 0xffffffff);
  if (problem) return problem;
  const length = labSequenceLength(settings);
  if (length > MAX_LAB_SEQUENCE_LENGTH) {
    return `The model input would be ${length} tokens (context plus markers), above the maximum of ${MAX_LAB_SEQUENCE_LENGTH}; lower the length or the tokens to memorize.`;
  }
  try {
    validateTaskOptions(labOptionsFor(settings).task);
  } catch (error) {
    return (error as Error).message;
  }
  return null;
}

/** Options, other than the layer kind, in which two runs differ, as labels for the comparison. */
export function optionDifferences(a: LabOptions, b: LabOptions): string[] {
  const differences: string[] = [];
  const taskA = a.task;
  const taskB = b.task;
  if (taskA.task !== taskB.task) return ['task'];
  const lengthA = taskA.task === 'selective-copying' ? taskA.contextLength : taskA.length;
  const lengthB = taskB.task === 'selective-copying' ? taskB.contextLength : taskB.length;
  if (lengthA !== lengthB) differences.push('sequence length');
  if (taskA.dataVocab !== taskB.dataVocab) differences.push('vocabulary');
  if (taskA.task === 'selective-copying' && taskB.task === 'selective-copying' && taskA.memorize !== taskB.memorize) differences.push('tokens to memorize');
  if (a.steps !== b.steps) differences.push('steps');
  if (a.seed !== b.seed) differences.push('seed');
  const sizes: Array<[keyof LabOptions, string]> = [
    ['dModel', 'model width'],
    ['nLayers', 'layers'],
    ['dState', 'state size'],
    ['expand', 'expansion'],
    ['batchSize', 'batch size'],
    ['evalSequences', 'evaluation sequences'],
  ];
  for (const [key, label] of sizes) if (a[key] !== b[key]) differences.push(label);
  if (a.evalLengthFactors.join() !== b.evalLengthFactors.join()) differences.push('evaluated lengths');
  return differences;
}

export type LabStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'cancelling' | 'finished' | 'cancelled' | 'failed';

/** Returns whether a run is in flight, during which the form is locked and Run is disabled. */
export function isLabActive(status: LabStatus): boolean {
  return status === 'starting' || status === 'running' || status === 'stopping' || status === 'cancelling';
}

/** The run in progress, or the last one, as its events describe it. */
export interface LabRunProgress {
  runId: number;
  options: LabOptions;
  phase: LabPhase | null;
  /** Training loss per step, in nats per answer token, for the loss chart. */
  history: LossPoint[];
  latest: LabStepReport | null;
  /** Accuracy on the fixed check set during training. */
  checks: LabCheckReport[];
  /** Final accuracy per evaluated length, as each arrives. */
  evaluations: LabEvalReport[];
  skippedSteps: number;
}

export interface LabState {
  settings: LabSettings;
  status: LabStatus;
  run: LabRunProgress | null;
  /** The last finished result of each layer kind. */
  results: Record<LabLayer, LabRunResult | null>;
  /** Layer kind of the result that finished last, or null before any. */
  lastLayer: LabLayer | null;
  /** Model layer whose full channels x time map of delta is shown. */
  mapLayer: number;
  error: EngineError | null;
  setSettings(patch: Partial<Omit<LabSettings, 'preset' | 'task'>>): void;
  /** Switches the preset, resetting the sizes to its values for the current task. */
  applyPreset(preset: LabPresetName): void;
  /** Switches the task, resetting the sizes to the preset's values for it. */
  setTask(task: LabTaskName): void;
  start(): Promise<void>;
  /** Ends training early; the run still evaluates and traces. */
  stop(): Promise<void>;
  /** Ends the run with no result. */
  cancel(): Promise<void>;
  applyProgress(runId: number, progress: LabProgress): void;
  applyEnd(runId: number, reason: LabEndReason, result?: LabRunResult, error?: EngineError): void;
  /** Marks a run in flight as failed, for work lost with the device. */
  failRun(error: EngineError): void;
  setMapLayer(layer: number): void;
  clearError(): void;
}

function emptyRun(runId: number, options: LabOptions): LabRunProgress {
  return { runId, options, phase: null, history: [], latest: null, checks: [], evaluations: [], skippedSteps: 0 };
}

/** Applies one progress event to the run it belongs to. */
export function reduceLabProgress(run: LabRunProgress, progress: LabProgress): LabRunProgress {
  switch (progress.kind) {
    case 'phase':
      return { ...run, phase: progress.phase };
    case 'step': {
      const { kind: _kind, ...report } = progress;
      return { ...run, latest: report, history: appendLossPoint(run.history, { step: report.step, loss: report.loss }) };
    }
    case 'check': {
      const { kind: _kind, ...report } = progress;
      // The check at the end of training repeats the step of the last periodic one when they coincide.
      return { ...run, checks: [...run.checks.filter((check) => check.step !== report.step), report] };
    }
    case 'eval': {
      const { kind: _kind, ...report } = progress;
      return { ...run, evaluations: [...run.evaluations, report] };
    }
    case 'skip':
      return { ...run, skippedSteps: run.skippedSteps + 1 };
  }
}

export function createLabStore(getEngine: () => EngineApi): StoreApi<LabState> {
  let lastRunId = 0;
  return createStore<LabState>()((set, get) => {
    /** Sends a stop or cancel; returns whether the engine accepted it. */
    async function send(action: 'stop' | 'cancel'): Promise<boolean> {
      try {
        await getEngine().request('lab', { action });
        return true;
      } catch (error) {
        set({ error: toEngineError(error) });
        return false;
      }
    }

    return {
      settings: { ...DEFAULT_LAB_SETTINGS },
      status: 'idle',
      run: null,
      results: { s6: null, s4: null },
      lastLayer: null,
      mapLayer: 0,
      error: null,

      setSettings: (patch) => set((state) => ({ settings: { ...state.settings, ...patch } })),
      applyPreset: (preset) => set((state) => ({ settings: settingsFromPreset(preset, state.settings.task, state.settings) })),
      setTask: (task) => set((state) => ({ settings: settingsFromPreset(state.settings.preset, task, state.settings) })),

      async start() {
        if (isLabActive(get().status)) return;
        const { settings } = get();
        const problem = checkLabSettings(settings);
        if (problem) {
          set({ status: 'failed', error: engineError('invalid-input', problem, 'Correct the lab setting named in the message, then run again.') });
          return;
        }
        const runId = ++lastRunId;
        const options = labOptionsFor(settings);
        set({ status: 'starting', run: emptyRun(runId, options), error: null });
        try {
          await getEngine().request('lab', { action: 'start', runId, options });
          // Progress events normally arrive first; this covers a run that reported nothing yet.
          if (get().status === 'starting' && get().run?.runId === runId) set({ status: 'running' });
        } catch (error) {
          if (get().run?.runId === runId) set({ status: 'failed', error: toEngineError(error) });
        }
      },

      async stop() {
        if (get().status !== 'running' && get().status !== 'starting') return;
        set({ status: 'stopping' });
        await send('stop');
      },

      async cancel() {
        if (!isLabActive(get().status)) return;
        const runId = get().run?.runId;
        set({ status: 'cancelling' });
        const accepted = await send('cancel');
        // The labEnd event normally arrives before the response; a run that had already ended keeps its status.
        if (accepted && get().status === 'cancelling' && get().run?.runId === runId) set({ status: 'cancelled' });
      },

      applyProgress(runId, progress) {
        const { run, status } = get();
        if (!run || run.runId !== runId || !isLabActive(status)) return;
        set({ run: reduceLabProgress(run, progress), status: status === 'starting' ? 'running' : status });
      },

      applyEnd(runId, reason, result, error) {
        const { run, status } = get();
        if (!run || run.runId !== runId || !isLabActive(status)) return;
        if (reason === 'complete' && result) {
          const layer = result.options.layer;
          set((state) => ({
            status: 'finished',
            results: { ...state.results, [layer]: result },
            lastLayer: layer,
            mapLayer: Math.min(state.mapLayer, result.config.nLayers - 1),
            // The result's lists are complete, so they replace the ones built from events.
            run: { ...run, checks: result.checks, evaluations: result.evaluations, phase: null },
          }));
          return;
        }
        if (reason === 'cancelled') {
          set({ status: 'cancelled', run: { ...run, phase: null } });
          return;
        }
        set({
          status: 'failed',
          run: { ...run, phase: null },
          error: error ?? engineError('internal', 'The lab run failed without a message.'),
        });
      },

      failRun(error) {
        if (!isLabActive(get().status)) return;
        const { run } = get();
        set({ status: 'failed', error, run: run ? { ...run, phase: null } : null });
      },

      setMapLayer: (layer) => set({ mapLayer: layer }),
      clearError: () => set({ error: null }),
    };
  });
}
