// The selectivity lab: trains a small MambaLM on a synthetic token task (Selective Copying
// or Induction Heads), scores it on fresh sequences, and traces delta on an example
// sequence. `runLab` is the one entry point, shared by the CLI (`mamba-audio lab`) and the
// app's engine worker; it touches no Node or DOM API.
//
// Seeds: one `seed` fixes the initial weights and separate random streams for the training
// batches, the periodic checks, the final evaluation at each length and the example. So a
// selective and a non-selective run with the same seed are trained and scored on the same
// sequences.
import type { GpuContext, Tensor } from '../context';
import { innerWidth, layerParameterNames, parameterCount, resolveConfig, type ModelConfig } from '../model/config';
import { initDtBias, initParameters, type ParameterMap } from '../model/init';
import { MambaLM, type LayerTraces } from '../model/lm';
import * as ops from '../model/ops';
import { learningRate } from '../train/schedule';
import { AdamW, trainableParameters, DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../train/trainer';
import { Rng } from '../util/rng';
import { argmaxRows, evaluateAccuracy, profileDeltaAroundRole, summarizeDeltaByRole, type AccuracyReport, type DeltaProfile, type RoleDeltaSummary } from './evaluate';
import type { LabOptions } from './options';
import { generateTaskBatch, sequenceLength, taskVocabulary, TokenRole, validateTaskOptions, type TaskOptions, type TaskVocabulary } from './tasks';

export { LAB_DEFAULTS, type LabLayer, type LabOptions } from './options';

export type LabPhase = 'training' | 'evaluating' | 'inspecting';

export interface LabStepReport {
  step: number;
  totalSteps: number;
  /** Mean cross-entropy over the answer positions of the batch, in nats. */
  loss: number;
  gradNorm: number;
  lr: number;
  tokensPerSec: number;
  elapsedSec: number;
}

export interface LabCheckReport extends AccuracyReport {
  step: number;
}

export interface LabEvalReport extends AccuracyReport {
  /** Multiple of the training length. */
  factor: number;
}

export interface LabEvents {
  onPhase?(phase: LabPhase): void;
  onStep?(report: LabStepReport): void;
  /** A periodic check on the fixed check set, during training. */
  onCheck?(report: LabCheckReport): void;
  /** The final score at one length. */
  onEval?(report: LabEvalReport): void;
  onSkip?(event: { step: number; reason: string }): void;
  /** Aborting ends training after the current step; the evaluation and tracing still run. */
  stopTraining?: AbortSignal;
  /** Aborting rejects runLab with the signal's reason (an AbortError by default). */
  signal?: AbortSignal;
}

/** One example sequence with the model's predictions and every layer's traces, for display. */
export interface LabExample {
  /** Input tokens (L). */
  tokens: Uint32Array;
  /** TokenRole of each position (L). */
  roles: Uint8Array;
  /** Expected output at each position (L), meaningful where `answerMask` is 1. */
  targets: Uint32Array;
  answerMask: Float32Array;
  /** Argmax prediction at every position (L). */
  predictions: Uint32Array;
  /** Per layer: delta, gate and state norm, each (L, DI) time-major since B = 1. */
  layers: LayerTraces[];
  /** Inner width DI, the channel count of every trace. */
  channels: number;
}

export interface LabResult {
  options: LabOptions;
  config: ModelConfig;
  parameterCount: number;
  vocabulary: TaskVocabulary;
  stepsRun: number;
  /** True when training ended before `steps`: on `maxTrainSeconds`, `stopAtAccuracy` or `stopTraining`. */
  endedEarly: boolean;
  skippedSteps: number;
  /** Loss of the last training step, in nats per answer token. */
  finalLoss: number;
  trainSec: number;
  evalSec: number;
  /** Accuracy at the training length (factor 1), or of the first factor evaluated. */
  accuracy: number;
  evaluations: LabEvalReport[];
  /** Periodic checks during training, and one at the end. */
  checks: LabCheckReport[];
  /** Mean delta per token role and layer, at the training length. */
  deltaByRole: RoleDeltaSummary[];
  /**
   * Mean delta per layer at each token to remember (Selective Copying) or key (Induction
   * Heads) and the K - 1 positions after it, against the background further away.
   */
  deltaProfile: DeltaProfile[];
  example: LabExample;
  /** Trained weights, for a checkpoint. */
  parameters: ParameterMap;
}

/** Derives the seed of one of the run's independent random streams. */
function streamSeed(seed: number, stream: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
}

const TRAIN_STREAM = 1;
const CHECK_STREAM = 2;
const EXAMPLE_STREAM = 3;
const TRACE_STREAM = 4;
const DT_INIT_STREAM = 5;
/** Final evaluation at factor f uses stream EVAL_STREAM + f. */
const EVAL_STREAM = 100;

/** Returns the task with its length multiplied by `factor`. */
export function scaleTaskLength(task: TaskOptions, factor: number): TaskOptions {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`length factor ${factor} must be a positive integer`);
  if (task.task === 'selective-copying') return { ...task, contextLength: task.contextLength * factor };
  return { ...task, length: task.length * factor };
}

/** Builds the lab model's config: 'tokens' encoding, the task's vocabulary, every layer s6 or s4. */
export function labModelConfig(options: LabOptions): ModelConfig {
  return resolveConfig({
    vocabSize: taskVocabulary(options.task).size,
    dModel: options.dModel,
    nLayers: options.nLayers,
    dState: options.dState,
    expand: options.expand,
    selective: options.layer === 's6',
    encoding: 'tokens',
  });
}

/** Initialises the parameters as mamba_ssm does, but with dt_proj.bias drawn from [dtMin, dtMax]. */
export function labInitialParameters(config: ModelConfig, options: LabOptions): ParameterMap {
  const params = initParameters(config, options.seed);
  const rng = new Rng(streamSeed(options.seed, DT_INIT_STREAM));
  for (let layer = 0; layer < config.nLayers; layer++) {
    params.set(layerParameterNames(layer).dtProjBias, initDtBias(rng, innerWidth(config), options.dtMin, options.dtMax));
  }
  return params;
}

/** Throws an Error naming the first invalid option. */
export function validateLabOptions(options: LabOptions): void {
  validateTaskOptions(options.task);
  if (options.layer !== 's6' && options.layer !== 's4') throw new Error(`layer = ${JSON.stringify(options.layer)}; use "s6" or "s4".`);
  const positive: Array<keyof LabOptions> = ['steps', 'batchSize', 'evalSequences', 'evalBatchSize', 'traceSequences', 'checkSequences'];
  for (const key of positive) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`${key} = ${JSON.stringify(value)} must be a positive integer.`);
  }
  const nonNegative: Array<keyof LabOptions> = ['warmupSteps', 'evalEvery', 'seed'];
  for (const key of nonNegative) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`${key} = ${JSON.stringify(value)} must be a non-negative integer.`);
  }
  if (!(options.peakLr > 0) || !(options.minLr >= 0) || options.minLr > options.peakLr) {
    throw new Error(`learning rates peakLr = ${options.peakLr}, minLr = ${options.minLr} must satisfy 0 <= minLr <= peakLr, peakLr > 0.`);
  }
  if (!(options.dtMin > 0) || !(options.dtMax >= options.dtMin)) {
    throw new Error(`dtMin = ${options.dtMin}, dtMax = ${options.dtMax} must satisfy 0 < dtMin <= dtMax.`);
  }
  if (!(options.weightDecay >= 0) || !(options.gradClip >= 0) || !(options.maxTrainSeconds >= 0)) {
    throw new Error('weightDecay, gradClip and maxTrainSeconds must be non-negative.');
  }
  if (options.evalLengthFactors.length === 0) throw new Error('evalLengthFactors is empty; give at least 1.');
  for (const factor of options.evalLengthFactors) scaleTaskLength(options.task, factor);
}

/** AdamW settings of the shared optimizer, from the lab options. */
function optimizerOptions(options: LabOptions): TrainOptions {
  return { ...DEFAULT_TRAIN_OPTIONS, weightDecay: options.weightDecay, gradClip: options.gradClip };
}

interface TrainingOutcome {
  stepsRun: number;
  endedEarly: boolean;
  skippedSteps: number;
  finalLoss: number;
  trainSec: number;
  checks: LabCheckReport[];
}

/** Consecutive non-finite steps after which training stops with an error. */
const MAX_SKIPPED_IN_A_ROW = 5;

/** Runs the optimizer steps with periodic checks; returns when done, on the time limit or on the target accuracy. */
async function train(ctx: GpuContext, model: MambaLM, options: LabOptions, events: LabEvents): Promise<TrainingOutcome> {
  const optimizer = new AdamW(ctx, model, trainableParameters(model, 'all'));
  const workspace = ops.createWorkspace(ctx);
  /** [global gradient norm, clip scale, non-finite flag], from ops.gradientNorm. */
  const gradStats: Tensor = ctx.tensor('lab gradient statistics', [3]);
  const grads = [...optimizer.trainable].map((name) => model.grads.get(name)!);
  const adamOptions = optimizerOptions(options);
  const schedule = { peakLr: options.peakLr, minLr: options.minLr, warmupSteps: options.warmupSteps, totalSteps: options.steps };
  const rng = new Rng(streamSeed(options.seed, TRAIN_STREAM));
  const tokensPerStep = options.batchSize * sequenceLength(options.task);

  const checks: LabCheckReport[] = [];
  const check = async (step: number) => {
    const report = await evaluateAccuracy(model, options.task, {
      sequences: options.checkSequences,
      batchSize: options.evalBatchSize,
      rng: new Rng(streamSeed(options.seed, CHECK_STREAM)),
      signal: events.signal,
    });
    events.signal?.throwIfAborted();
    const entry = { step, ...report };
    checks.push(entry);
    events.onCheck?.(entry);
    return entry.accuracy;
  };

  const started = performance.now();
  const elapsedSec = () => (performance.now() - started) / 1000;
  let stepsRun = 0;
  let skippedSteps = 0;
  let skippedInARow = 0;
  let finalLoss = NaN;
  let endedEarly = false;
  try {
    while (optimizer.step < options.steps) {
      events.signal?.throwIfAborted();
      if (events.stopTraining?.aborted || (options.maxTrainSeconds > 0 && elapsedSec() >= options.maxTrainSeconds)) {
        endedEarly = true;
        break;
      }

      const step = optimizer.step;
      const batch = generateTaskBatch(options.task, options.batchSize, rng);
      const result = model.encodeForwardBackward(batch.inputs, batch.targets, options.batchSize, batch.weights);
      ops.gradientNorm(ctx, { grads, maxNorm: options.gradClip > 0 ? options.gradClip : Infinity, result: gradStats, workspace });
      const [gradNorm, , nonFinite] = await ctx.read(gradStats);
      const [loss] = await ctx.read(result.loss);

      // A non-finite step is dropped before AdamW runs, so bad values never reach the weights.
      if (nonFinite !== 0 || !Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        skippedSteps++;
        skippedInARow++;
        const reason = !Number.isFinite(loss) ? `loss ${loss}` : `gradient norm ${gradNorm}`;
        events.onSkip?.({ step, reason });
        if (skippedInARow >= MAX_SKIPPED_IN_A_ROW) {
          throw new Error(`Lab training diverged at step ${step}: ${skippedInARow} steps in a row had a non-finite ${reason}. Lower the learning rate.`);
        }
        continue;
      }
      skippedInARow = 0;

      const lr = learningRate(schedule, step);
      optimizer.encodeUpdate(adamOptions, lr, { tensor: gradStats, index: 1 });
      ctx.submit();
      stepsRun++;
      finalLoss = loss;
      const done = optimizer.step;
      events.onStep?.({ step: done, totalSteps: options.steps, loss, gradNorm, lr, tokensPerSec: (stepsRun * tokensPerStep) / elapsedSec(), elapsedSec: elapsedSec() });

      if (options.evalEvery > 0 && done % options.evalEvery === 0 && done < options.steps) {
        const accuracy = await check(done);
        if (accuracy >= options.stopAtAccuracy) {
          endedEarly = true;
          break;
        }
      }
    }
    const trainSec = elapsedSec();
    if (checks.at(-1)?.step !== optimizer.step) await check(optimizer.step);
    return { stepsRun, endedEarly, skippedSteps, finalLoss, trainSec, checks };
  } finally {
    optimizer.destroy();
    workspace.destroy();
    ctx.release(gradStats);
  }
}

/** Runs the model on one fresh sequence and collects its tokens, predictions and traces. */
async function traceExample(model: MambaLM, options: LabOptions): Promise<LabExample> {
  const batch = generateTaskBatch(options.task, 1, new Rng(streamSeed(options.seed, EXAMPLE_STREAM)));
  const layers = await model.inspect(batch.inputs, 1);
  const predictions = argmaxRows(await model.readLogits(), model.config.vocabSize);
  return {
    tokens: batch.inputs,
    roles: batch.roles,
    targets: batch.targets,
    answerMask: batch.weights,
    predictions,
    layers,
    channels: innerWidth(model.config),
  };
}

/** Summarizes delta per token role, and around the anchor tokens, over `traceSequences` fresh sequences. */
async function traceRoles(model: MambaLM, options: LabOptions): Promise<{ byRole: RoleDeltaSummary[]; profile: DeltaProfile[] }> {
  const batch = generateTaskBatch(options.task, options.traceSequences, new Rng(streamSeed(options.seed, TRACE_STREAM)));
  const traces = await model.inspect(batch.inputs, batch.B);
  const [anchor, background] = options.task.task === 'selective-copying' ? [TokenRole.Memorize, TokenRole.Noise] : [TokenRole.Key, TokenRole.Filler];
  return {
    byRole: summarizeDeltaByRole(traces, batch),
    profile: profileDeltaAroundRole(traces, batch, anchor, background, model.config.dConv),
  };
}

/**
 * Trains a fresh model on the task, scores it on fresh sequences at every length factor,
 * and traces delta. Progress goes to `events`; aborting `events.signal` rejects with the
 * signal's reason and frees the model's GPU buffers. Validation errors throw Error.
 */
export async function runLab(ctx: GpuContext, options: LabOptions, events: LabEvents = {}): Promise<LabResult> {
  validateLabOptions(options);
  const config = labModelConfig(options);
  const model = new MambaLM(ctx, config, labInitialParameters(config, options));
  try {
    events.onPhase?.('training');
    const outcome = await train(ctx, model, options, events);

    events.onPhase?.('evaluating');
    const evalStarted = performance.now();
    const evaluations: LabEvalReport[] = [];
    for (const factor of options.evalLengthFactors) {
      const report = await evaluateAccuracy(model, scaleTaskLength(options.task, factor), {
        sequences: options.evalSequences,
        batchSize: options.evalBatchSize,
        rng: new Rng(streamSeed(options.seed, EVAL_STREAM + factor)),
        signal: events.signal,
      });
      events.signal?.throwIfAborted();
      const entry = { factor, ...report };
      evaluations.push(entry);
      events.onEval?.(entry);
    }
    const evalSec = (performance.now() - evalStarted) / 1000;

    events.onPhase?.('inspecting');
    const deltaSummary = await traceRoles(model, options);
    const example = await traceExample(model, options);
    events.signal?.throwIfAborted();

    return {
      options,
      config,
      parameterCount: parameterCount(config),
      vocabulary: taskVocabulary(options.task),
      stepsRun: outcome.stepsRun,
      endedEarly: outcome.endedEarly,
      skippedSteps: outcome.skippedSteps,
      finalLoss: outcome.finalLoss,
      trainSec: outcome.trainSec,
      evalSec,
      accuracy: (evaluations.find((entry) => entry.factor === 1) ?? evaluations[0]).accuracy,
      evaluations,
      checks: outcome.checks,
      deltaByRole: deltaSummary.byRole,
      deltaProfile: deltaSummary.profile,
      example,
      parameters: await model.readParameters(),
    };
  } finally {
    model.destroy();
  }
}
