// One fine-tuning run in the engine worker: the Trainer from gpu/train with start, pause,
// resume and stop, progress and checkpoint events.
//
// Pausing aborts Trainer.run after the current step. Resuming runs it again on the same
// model and optimizer for the steps still to go, and the optimizer's step counter carries
// on, so the learning-rate schedule and the AdamW moments continue as if nothing paused.
// A checkpoint event is sent every `checkpointEverySteps` steps and when the run ends
// (last step, stop or a paused run stopped), so the last weights always reach the UI.

import type { GpuContext } from '../../gpu/context';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import type { LanguageModel } from '../../gpu/model/language-model';
import type { CodeClip, DataSplit } from '../../gpu/train/data';
import { DEFAULT_TRAIN_OPTIONS, Trainer, type TrainOptions, type TrainSummary } from '../../gpu/train/trainer';
import { backendError } from './backend-errors';
import { engineError } from './errors';
import type { CheckpointReason, EngineEvent, EngineEventOf, TrainConfig } from './protocol';

const NATS_PER_BIT = Math.LN2;

/** Most held-out windows per validation; each costs a forward pass of one window. */
const MAX_VALIDATION_WINDOWS = 16;

export type TrainingPhase = 'running' | 'paused' | 'ended';

export interface TrainingSessionDependencies {
  ctx: GpuContext;
  model: LanguageModel;
  emit(event: EngineEvent): void;
  /** Called after every optimizer step with its number, so cached copies of the weights (the generator) are rebuilt. */
  onWeightsChanged(step: number): void;
}

/** Checks a training request; returns the problem as a sentence, or null when it is valid. */
export function checkTrainConfig(config: TrainConfig): string | null {
  const integers: Array<[keyof TrainConfig, number]> = [
    ['batchSize', 1],
    ['windowSamples', 2],
    ['maxSteps', 1],
    ['validateEverySteps', 1],
    ['checkpointEverySteps', 0],
    ['seed', 0],
  ];
  for (const [name, min] of integers) {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value < min) return `${name} = ${value} must be an integer of at least ${min}.`;
  }
  if (!(config.learningRate > 0 && config.learningRate <= 1)) return `learningRate = ${config.learningRate} must be in (0, 1].`;
  if (!(config.weightDecay >= 0 && config.weightDecay <= 10)) return `weightDecay = ${config.weightDecay} must be in [0, 10].`;
  if (!(config.gradClipNorm >= 0)) return `gradClipNorm = ${config.gradClipNorm} must be 0 (off) or positive.`;
  if (config.seed > 0xffffffff) return `seed = ${config.seed} must fit in 32 bits.`;
  return null;
}

/** Whole windows of `windowSamples` inputs plus one target in `length` codes, as validationBatches cuts them. */
function windowCount(length: number, windowSamples: number): number {
  return Math.max(0, Math.floor((length - 1) / windowSamples));
}

/**
 * Builds the data split. Trainer validates in batches of `batchSize` windows, so a short
 * held-out part is repeated until it fills one batch. With no held-out codes the training
 * span is used instead, and `reportValidation` is false, so no validation loss is shown.
 */
export function buildSplit(trainCodes: Uint8Array, validationCodes: Uint8Array, config: TrainConfig): { split: DataSplit; evalWindows: number; reportValidation: boolean } {
  const { windowSamples, batchSize } = config;
  if (trainCodes.length < windowSamples + 1) {
    throw engineError('invalid-input', `The training span has ${trainCodes.length} samples, fewer than one window of ${windowSamples} samples plus one.`, 'Select a longer region, or lower the window length.');
  }
  const train: CodeClip[] = [{ name: 'training span', codes: trainCodes }];
  const reportValidation = validationCodes.length > 0;
  const heldOutCodes = reportValidation ? validationCodes : trainCodes;
  const windows = windowCount(heldOutCodes.length, windowSamples);
  if (windows === 0) {
    throw engineError('invalid-input', `The validation part has ${heldOutCodes.length} samples, fewer than one window of ${windowSamples} samples plus one.`, 'Raise the validation fraction, select a longer region, or set the fraction to 0.');
  }
  // NOTE: repeated windows weigh some held-out audio more than the rest in the mean loss.
  const copies = Math.ceil(batchSize / windows);
  const heldOut: CodeClip[] = Array.from({ length: copies }, (_, index) => ({ name: `validation part ${index + 1}`, codes: heldOutCodes }));
  const targetWindows = reportValidation ? Math.min(MAX_VALIDATION_WINDOWS, windows * copies) : batchSize;
  const evalWindows = Math.max(batchSize, Math.floor(targetWindows / batchSize) * batchSize);
  return { split: { train, heldOut }, evalWindows, reportValidation };
}

/** Maps the app's training settings onto the Trainer's options. */
export function trainOptionsFor(config: TrainConfig, evalWindows: number, reportValidation: boolean): TrainOptions {
  return {
    ...DEFAULT_TRAIN_OPTIONS,
    windowSamples: config.windowSamples,
    batchSize: config.batchSize,
    steps: config.maxSteps,
    peakLr: config.learningRate,
    minLr: config.learningRate / 10,
    // A tenth of the run, at most 20 steps: short fine-tunes would otherwise never leave the warm-up.
    warmupSteps: Math.min(DEFAULT_TRAIN_OPTIONS.warmupSteps, Math.floor(config.maxSteps / 10)),
    weightDecay: config.weightDecay,
    gradClip: config.gradClipNorm,
    evalEvery: reportValidation ? config.validateEverySteps : 0,
    evalWindows,
    seed: config.seed,
    checkpointEvery: config.checkpointEverySteps,
    trainable: 'all',
  };
}

export class TrainingSession {
  private phase: TrainingPhase = 'running';
  private readonly trainer: Trainer;
  private readonly reportValidation: boolean;
  private controller: AbortController | null = null;
  private runDone: Promise<void> = Promise.resolve();
  private pauseRequested = false;
  private stopRequested = false;
  private lastStep = -1;
  private lastLossNats: number | null = null;
  private lastRate = { samplesPerSec: 0, etaSec: Number.NaN };
  private destroyed = false;
  /** Set by dispose(): the backend is going away, so no more events are sent. */
  private disposed = false;

  constructor(
    private readonly deps: TrainingSessionDependencies,
    private readonly config: TrainConfig,
    trainCodes: Uint8Array,
    validationCodes: Uint8Array,
  ) {
    const { split, evalWindows, reportValidation } = buildSplit(trainCodes, validationCodes, config);
    this.reportValidation = reportValidation;
    this.trainer = new Trainer(deps.ctx, deps.model, split, trainOptionsFor(config, evalWindows, reportValidation));
  }

  get state(): TrainingPhase {
    return this.phase;
  }

  /** Optimizer steps taken so far in this session. */
  get step(): number {
    return this.trainer.optimizer.step;
  }

  /** Starts the run in the background; progress and the end arrive as events. */
  start(): void {
    this.launch();
  }

  /** Aborts the run after the current step and resolves once it is paused. */
  async pause(): Promise<void> {
    if (this.phase !== 'running') throw engineError('invalid-request', `Cannot pause training: it is ${this.phase}.`);
    this.pauseRequested = true;
    this.controller?.abort();
    await this.runDone;
  }

  resume(): void {
    if (this.phase !== 'paused') throw engineError('invalid-request', `Cannot resume training: it is ${this.phase}, not paused.`);
    this.launch();
  }

  /** Ends the run with a final checkpoint; resolves once the 'stopped' state was sent. */
  async stop(): Promise<void> {
    if (this.phase === 'running') {
      this.stopRequested = true;
      this.controller?.abort();
      await this.runDone;
      return;
    }
    if (this.phase === 'paused') {
      this.phase = 'ended';
      try {
        await this.sendCheckpoint(this.trainer.optimizer.step, 'final');
        this.deps.emit({ kind: 'event', type: 'trainState', state: 'stopped' });
      } catch (error) {
        this.deps.emit({ kind: 'event', type: 'trainState', state: 'failed', error: backendError(error) });
      } finally {
        this.destroy();
      }
    }
  }

  /**
   * Aborts without further events; resolves once the run has stopped and the optimizer's
   * buffers are freed (the model belongs to the caller).
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.phase = 'ended';
    this.controller?.abort();
    await this.runDone.catch(() => {});
    this.destroy();
  }

  private launch(): void {
    this.trainer.options.steps = this.config.maxSteps - this.trainer.optimizer.step;
    this.controller = new AbortController();
    this.pauseRequested = false;
    this.phase = 'running';
    this.deps.emit({ kind: 'event', type: 'trainState', state: 'running' });
    this.runDone = this.trainer.run(this.events(this.controller.signal)).then(
      (summary) => this.afterRun(summary),
      (error: unknown) => this.fail(error),
    );
  }

  private events(signal: AbortSignal): Parameters<Trainer['run']>[0] {
    return {
      signal,
      onStep: (report) => {
        this.lastStep = report.step;
        this.lastLossNats = report.lossBits * NATS_PER_BIT;
        this.lastRate = { samplesPerSec: report.samplesPerSec, etaSec: report.etaSec };
        this.deps.onWeightsChanged(report.step);
        this.sendProgress(report.step, this.lastLossNats);
      },
      onEval: (report) => {
        if (!this.reportValidation) return;
        const loss = report.step === this.lastStep ? this.lastLossNats : null;
        this.sendProgress(report.step, loss, report.validationBits * NATS_PER_BIT);
      },
      onSkip: (event) => {
        console.warn(`[engine] training step ${event.step} skipped: non-finite ${event.reason}`);
      },
      saveCheckpoint: async ({ step, reason }) => {
        // The weights at the start of a run are the model the user loaded, and a pause is no end.
        if (reason === 'start' || (reason === 'final' && this.pausesEarly())) return;
        await this.sendCheckpoint(step, reason);
      },
    };
  }

  private sendProgress(step: number, loss: number | null, valLoss?: number): void {
    if (this.disposed) return;
    const event: EngineEventOf<'trainProgress'> = { kind: 'event', type: 'trainProgress', step, loss, ...this.lastRate };
    if (valLoss !== undefined) event.valLoss = valLoss;
    this.deps.emit(event);
  }

  private async sendCheckpoint(step: number, reason: CheckpointReason): Promise<void> {
    const { model } = this.deps;
    const params = await model.readParameters();
    const bytes = encodeCheckpoint({ config: model.config, params, trainer: { step, options: this.trainer.options } });
    if (this.disposed) return;
    this.deps.emit({ kind: 'event', type: 'checkpoint', step, loss: this.lastLossNats, reason, bytes });
  }

  private afterRun(summary: TrainSummary): void {
    if (this.disposed) return;
    // Trainer validates once more when a run is cut short; that loss belongs on the chart too.
    if (this.reportValidation && summary.stoppedEarly && summary.stepsRun > 0) {
      this.sendProgress(summary.finalStep, this.lastLossNats, summary.finalValidationBits * NATS_PER_BIT);
    }
    if (this.pausesEarly() && this.phase === 'running') {
      this.phase = 'paused';
      this.deps.emit({ kind: 'event', type: 'trainState', state: 'paused' });
      return;
    }
    this.phase = 'ended';
    this.deps.emit({ kind: 'event', type: 'trainState', state: summary.stoppedEarly ? 'stopped' : 'finished' });
    this.destroy();
  }

  /** Whether the run ends because of a pause, with steps still to go. A run that reached its last step has finished. */
  private pausesEarly(): boolean {
    return this.pauseRequested && !this.stopRequested && this.trainer.optimizer.step < this.config.maxSteps;
  }

  private fail(error: unknown): void {
    if (this.disposed) return;
    this.phase = 'ended';
    this.deps.emit({ kind: 'event', type: 'trainState', state: 'failed', error: backendError(error) });
    this.destroy();
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.trainer.destroy();
  }
}
