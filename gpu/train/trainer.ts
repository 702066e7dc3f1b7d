// The training loop: AdamW with warm-up and cosine decay, gradient clipping, validation in
// bits per sample against two baselines, and checkpoints that a failed run never spoils.
//
// One optimizer step reads back two small buffers (the loss, and the gradient norm with a
// non-finite flag), so the GPU stays busy. A step whose loss or gradient is not finite is
// skipped before AdamW runs, so bad values never reach the weights. After
// `maxSkippedInARow` skipped steps in a row the run stops with TrainingDivergedError, and
// the last checkpoint written is the last good state.
import type { GpuContext, Tensor } from '../context';
import type { LanguageModel } from '../model/language-model';
import { checkSequenceLength } from '../model/sashimi-config';
import * as ops from '../model/ops';
import { DataError, unigramEntropyBits, validationBatches, WindowSampler, type DataSplit } from './data';
import { learningRate } from './schedule';

export interface TrainOptions {
  /** Samples per training window (L). */
  windowSamples: number;
  /** Windows per batch (B). */
  batchSize: number;
  /** Optimizer steps to run in this call. */
  steps: number;
  peakLr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient norm limit. */
  gradClip: number;
  /** Validate every this many steps (and at the end); 0 validates only at the end. */
  evalEvery: number;
  /** Held-out windows per validation. */
  evalWindows: number;
  /** Seed of the window sampler. */
  seed: number;
  /** Save a checkpoint every this many steps (and at the end); 0 saves only at the end. */
  checkpointEvery: number;
  /** Train every parameter, or only the last `lastLayers` blocks, the final norm and the head. */
  trainable: 'all' | { lastLayers: number };
  maxSkippedInARow: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  windowSamples: 2048,
  batchSize: 4,
  steps: 200,
  peakLr: 2e-3,
  minLr: 2e-4,
  warmupSteps: 20,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClip: 1,
  evalEvery: 50,
  evalWindows: 16,
  seed: 1,
  checkpointEvery: 50,
  trainable: 'all',
  maxSkippedInARow: 5,
};

export interface StepReport {
  step: number;
  /** Training loss in bits per sample. */
  lossBits: number;
  gradNorm: number;
  lr: number;
  samplesPerSec: number;
  etaSec: number;
}

export interface EvalReport {
  step: number;
  /** Held-out negative log-likelihood in bits per sample. */
  validationBits: number;
}

export interface TrainEvents {
  onStep?(report: StepReport): void;
  onEval?(report: EvalReport): void;
  onSkip?(event: { step: number; reason: string }): void;
  /** Called to persist a checkpoint; resolve once it is safely written. */
  saveCheckpoint?(state: { step: number; model: LanguageModel; optimizer: AdamW; reason: 'periodic' | 'final' | 'start' }): Promise<void>;
  signal?: AbortSignal;
}

export interface TrainSummary {
  stepsRun: number;
  finalStep: number;
  /** Unigram entropy of the held-out codes in bits: a model that ignores context. */
  unigramBits: number;
  /** Held-out NLL before this run's first step. */
  initialValidationBits: number;
  finalValidationBits: number;
  skippedSteps: number;
  samplesPerSec: number;
  stoppedEarly: boolean;
}

export class TrainingDivergedError extends Error {
  constructor(step: number, count: number, reason: string) {
    super(
      `Training stopped at step ${step}: ${count} steps in a row had a non-finite loss or gradient (${reason}). ` +
        'The last checkpoint is intact; lower the learning rate or check the input audio.',
    );
    this.name = 'TrainingDivergedError';
  }
}

const NATS_TO_BITS = 1 / Math.log(2);

/** AdamW state on the GPU: first and second moments per trainable parameter. */
export class AdamW {
  readonly m = new Map<string, Tensor>();
  readonly v = new Map<string, Tensor>();
  step = 0;

  constructor(private readonly ctx: GpuContext, private readonly model: LanguageModel, readonly trainable: Set<string>) {
    for (const spec of model.specs) {
      if (!trainable.has(spec.name)) continue;
      this.m.set(spec.name, ctx.tensor(`adam m ${spec.name}`, spec.shape));
      this.v.set(spec.name, ctx.tensor(`adam v ${spec.name}`, spec.shape));
    }
  }

  /** Encodes one update of every trainable parameter, scaling gradients by clip.tensor[clip.index]. */
  encodeUpdate(options: TrainOptions, lr: number, clip: { tensor: Tensor; index: number }): void {
    this.step++;
    for (const spec of this.model.specs) {
      if (!this.trainable.has(spec.name)) continue;
      ops.adamw(this.ctx, {
        param: this.model.params.get(spec.name)!,
        grad: this.model.grads.get(spec.name)!,
        m: this.m.get(spec.name)!,
        v: this.v.get(spec.name)!,
        gradScale: clip,
        lr,
        beta1: options.beta1,
        beta2: options.beta2,
        eps: options.eps,
        weightDecay: options.weightDecay,
        decay: spec.decay,
        step: this.step,
      });
    }
  }

  async read(): Promise<{ step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }> {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, tensor] of this.m) m.set(name, await this.ctx.read(tensor));
    for (const [name, tensor] of this.v) v.set(name, await this.ctx.read(tensor));
    return { step: this.step, m, v };
  }

  load(state: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }): void {
    this.step = state.step;
    for (const [name, tensor] of this.m) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (m && v) {
        this.ctx.write(tensor, m);
        this.ctx.write(this.v.get(name)!, v);
      }
    }
  }

  destroy(): void {
    for (const tensor of [...this.m.values(), ...this.v.values()]) this.ctx.release(tensor);
  }
}

/** Names of the parameters a fine-tune updates. */
export function trainableParameters(model: LanguageModel, trainable: TrainOptions['trainable']): Set<string> {
  if (trainable === 'all') return new Set(model.specs.map((spec) => spec.name));
  const first = model.config.nLayers - trainable.lastLayers;
  return new Set(model.specs.filter((spec) => spec.layer >= first || spec.name === 'backbone.norm_f.weight' || spec.name === 'lm_head.weight').map((spec) => spec.name));
}

export class Trainer {
  readonly optimizer: AdamW;
  private readonly sampler: WindowSampler;
  private readonly validation: Array<{ inputs: Uint32Array; targets: Uint32Array }>;
  /** [global gradient norm, clip scale, non-finite flag], from ops.gradientNorm. */
  private readonly gradStats: Tensor;
  private readonly workspace: ops.OpsWorkspace;

  constructor(
    private readonly ctx: GpuContext,
    readonly model: LanguageModel,
    private readonly split: DataSplit,
    readonly options: TrainOptions,
  ) {
    checkSequenceLength(model.config, options.windowSamples, 'use a training window (windowSamples, --window) that is a multiple of it');
    this.optimizer = new AdamW(ctx, model, trainableParameters(model, options.trainable));
    this.sampler = new WindowSampler(split.train, options.windowSamples, options.seed);
    this.validation = validationBatches(split.heldOut, options.windowSamples, options.batchSize, options.evalWindows);
    if (this.validation.length === 0) {
      throw new DataError(`Held-out audio gives no full batch of ${options.batchSize} windows of ${options.windowSamples} samples; hold out more audio or lower the batch size.`);
    }
    this.gradStats = ctx.tensor('gradient statistics', [3]);
    this.workspace = ops.createWorkspace(ctx);
  }

  /** Held-out NLL in bits per sample, over the fixed validation windows. */
  async validate(): Promise<number> {
    let total = 0;
    for (const batch of this.validation) {
      this.model.encodeForward(batch.inputs, this.options.batchSize, batch.targets);
      total += await this.model.readLoss();
    }
    return (total / this.validation.length) * NATS_TO_BITS;
  }

  unigramBits(): number {
    return unigramEntropyBits(this.split.heldOut, this.model.config.vocabSize);
  }

  async run(events: TrainEvents = {}): Promise<TrainSummary> {
    const { options, ctx, model } = this;
    const firstStep = this.optimizer.step;
    const totalSteps = firstStep + options.steps;
    const schedule = { peakLr: options.peakLr, minLr: options.minLr, warmupSteps: options.warmupSteps, totalSteps };
    const samplesPerStep = options.windowSamples * options.batchSize;
    const trainable = [...this.optimizer.trainable].map((name) => model.grads.get(name)!);

    const unigramBits = this.unigramBits();
    const initialValidationBits = await this.validate();
    events.onEval?.({ step: firstStep, validationBits: initialValidationBits });
    await events.saveCheckpoint?.({ step: firstStep, model, optimizer: this.optimizer, reason: 'start' });

    let skippedInARow = 0;
    let skippedSteps = 0;
    let lastValidation = initialValidationBits;
    let stoppedEarly = false;
    const started = performance.now();
    let stepsRun = 0;

    while (this.optimizer.step < totalSteps) {
      if (events.signal?.aborted) {
        stoppedEarly = true;
        break;
      }
      const step = this.optimizer.step;
      const { inputs, targets } = this.sampler.batch(options.batchSize);
      const result = model.encodeForwardBackward(inputs, targets, options.batchSize);
      ops.gradientNorm(ctx, { grads: trainable, maxNorm: options.gradClip > 0 ? options.gradClip : Infinity, result: this.gradStats, workspace: this.workspace });
      const [gradNorm, , nonFinite] = await ctx.read(this.gradStats);
      const [lossNats] = await ctx.read(result.loss);

      if (nonFinite !== 0 || !Number.isFinite(lossNats) || !Number.isFinite(gradNorm)) {
        skippedSteps++;
        skippedInARow++;
        const reason = !Number.isFinite(lossNats) ? `loss ${lossNats}` : `gradient norm ${gradNorm}`;
        events.onSkip?.({ step, reason });
        if (skippedInARow >= options.maxSkippedInARow) throw new TrainingDivergedError(step, skippedInARow, reason);
        continue;
      }
      skippedInARow = 0;

      const lr = learningRate(schedule, step);
      this.optimizer.encodeUpdate(options, lr, { tensor: this.gradStats, index: 1 });
      ctx.submit();
      stepsRun++;

      const elapsedSec = (performance.now() - started) / 1000;
      const samplesPerSec = (stepsRun * samplesPerStep) / elapsedSec;
      const done = this.optimizer.step;
      events.onStep?.({
        step: done,
        lossBits: lossNats * NATS_TO_BITS,
        gradNorm,
        lr,
        samplesPerSec,
        etaSec: ((totalSteps - done) * samplesPerStep) / samplesPerSec,
      });

      const last = done >= totalSteps;
      if (last || (options.evalEvery > 0 && done % options.evalEvery === 0)) {
        lastValidation = await this.validate();
        events.onEval?.({ step: done, validationBits: lastValidation });
      }
      if (!last && options.checkpointEvery > 0 && done % options.checkpointEvery === 0) {
        await events.saveCheckpoint?.({ step: done, model, optimizer: this.optimizer, reason: 'periodic' });
      }
    }

    if (stoppedEarly && stepsRun > 0) lastValidation = await this.validate();
    await events.saveCheckpoint?.({ step: this.optimizer.step, model, optimizer: this.optimizer, reason: 'final' });
    const elapsedSec = (performance.now() - started) / 1000;
    return {
      stepsRun,
      finalStep: this.optimizer.step,
      unigramBits,
      initialValidationBits,
      finalValidationBits: lastValidation,
      skippedSteps,
      samplesPerSec: stepsRun > 0 ? (stepsRun * samplesPerStep) / elapsedSec : 0,
      stoppedEarly,
    };
  }

  destroy(): void {
    this.optimizer.destroy();
    this.workspace.destroy();
    this.ctx.release(this.gradStats);
  }
}
