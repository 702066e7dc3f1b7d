// Options of a selectivity lab run and the defaults of each task. They live apart from
// lab.ts, which imports the engine's kernels, so that the app's UI can read the defaults
// without bundling the kernels.
import type { TaskOptions } from './tasks';

/**
 * SSM kind of every block. 's6': selective, delta, B and C computed from each token.
 * 's4': the linear time-invariant ablation of the same Mamba block, where delta, B and C
 * are learned constants. This is not the original S4 parameterisation (no HiPPO init, no
 * complex diagonal, no convolution-mode kernel); only the input dependence is removed.
 */
export type LabLayer = 's6' | 's4';

export interface LabOptions {
  task: TaskOptions;
  layer: LabLayer;
  /** Model width D. */
  dModel: number;
  nLayers: number;
  /** SSM state size N per channel. */
  dState: number;
  /** Expansion factor E; the inner width is DI = E * D. */
  expand: number;
  /**
   * Range of the initial step size: dt_proj.bias starts at softplus^-1 of values drawn
   * log-uniform in [dtMin, dtMax]. mamba_ssm's defaults are 0.001 and 0.1.
   */
  dtMin: number;
  dtMax: number;

  /** Optimizer steps, each on a fresh batch. */
  steps: number;
  /** Sequences per training batch. */
  batchSize: number;
  peakLr: number;
  /** Learning rate at the end of the cosine decay. */
  minLr: number;
  warmupSteps: number;
  /** AdamW weight decay on matrices. */
  weightDecay: number;
  /** Global gradient norm limit; 0 turns clipping off. */
  gradClip: number;
  /** Stops training after this many seconds and goes on to the evaluation; 0 sets no limit. */
  maxTrainSeconds: number;

  /** Scores the model on the check set every this many steps; 0 checks only at the end. */
  evalEvery: number;
  /** Sequences of the periodic check (the same sequences every time). */
  checkSequences: number;
  /** Ends training early once a periodic check reaches this accuracy; values above 1 never do. */
  stopAtAccuracy: number;
  /** Fresh sequences scored at the end, at each length. */
  evalSequences: number;
  /** Largest batch of the evaluation forwards. */
  evalBatchSize: number;
  /**
   * Multiples of the training length scored at the end; 1 is the training length. They
   * scale `length` of Induction Heads and `contextLength` of Selective Copying.
   */
  evalLengthFactors: number[];
  /** Sequences whose delta traces are averaged per token role. */
  traceSequences: number;
  seed: number;
}

const SHARED_DEFAULTS = {
  layer: 's6' as LabLayer,
  nLayers: 2,
  expand: 2,
  dtMin: 0.001,
  dtMax: 0.1,
  peakLr: 1e-2,
  minLr: 1e-3,
  warmupSteps: 20,
  weightDecay: 0,
  gradClip: 1,
  maxTrainSeconds: 0,
  evalEvery: 100,
  checkSequences: 64,
  stopAtAccuracy: 2,
  evalSequences: 512,
  evalBatchSize: 64,
  traceSequences: 16,
  seed: 1,
};

/** Defaults of each task: the sizes of the CPU verification runs in docs/benchmarks.md. */
export const LAB_DEFAULTS: Record<TaskOptions['task'], LabOptions> = {
  'selective-copying': {
    ...SHARED_DEFAULTS,
    task: { task: 'selective-copying', contextLength: 64, dataVocab: 4, memorize: 4 },
    dModel: 64,
    dState: 16,
    steps: 800,
    batchSize: 8,
    evalLengthFactors: [1],
  },
  'induction-heads': {
    ...SHARED_DEFAULTS,
    task: { task: 'induction-heads', length: 32, dataVocab: 8 },
    dModel: 32,
    dState: 8,
    steps: 300,
    batchSize: 32,
    evalLengthFactors: [1, 4, 16],
  },
};
