// One selectivity lab run in the engine worker: runLab (gpu/lab/lab.ts) trains, scores and
// traces a token model of its own, so the loaded audio model is never touched. Progress
// goes to the UI as `labProgress` events and the end as exactly one `labEnd` event.

import type { GpuContext } from '../../gpu/context';
import { runLab, validateLabOptions, type LabOptions, type LabResult } from '../../gpu/lab/lab';
import { sequenceLength } from '../../gpu/lab/tasks';
import { backendError, withMemoryScope } from './backend-errors';
import { engineError } from './errors';
import { MAX_LAB_EVAL_LENGTH, MAX_LAB_SEQUENCE_LENGTH, MAX_LAB_STEPS } from './limits';
import type { EngineError, EngineEvent, LabProgress, LabRunResult } from './protocol';

/**
 * Upper bounds on the sizes a lab request may ask for. They keep a malformed request from
 * allocating gigabytes; the Lab view's form stays far below them.
 */
const SIZE_LIMITS: ReadonlyArray<[keyof LabOptions, number]> = [
  ['dModel', 1024],
  ['nLayers', 16],
  ['dState', 256],
  ['expand', 8],
  ['batchSize', 4096],
  ['evalBatchSize', 4096],
  ['evalSequences', 1_000_000],
  ['checkSequences', 100_000],
  ['traceSequences', 4096],
  ['steps', MAX_LAB_STEPS],
];

/** Largest data vocabulary, as the CLI's --vocab allows. */
const MAX_DATA_VOCAB = 4096;

/** runLab's message when training produced non-finite values several steps in a row. */
const DIVERGED = /^Lab training diverged/;

/** Checks a lab request; returns the problem as a sentence naming the value, or null when it is valid. */
export function checkLabOptions(options: unknown): string | null {
  if (typeof options !== 'object' || options === null) return 'The lab options are missing.';
  const record = options as Record<string, unknown>;
  const task = record.task as Record<string, unknown> | undefined;
  if (typeof task !== 'object' || task === null) return 'The lab options have no task.';
  if (task.task !== 'selective-copying' && task.task !== 'induction-heads') {
    return `Unknown lab task ${JSON.stringify(task.task)}; use "selective-copying" or "induction-heads".`;
  }
  for (const [name, max] of SIZE_LIMITS) {
    const value = record[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      return `${name} = ${JSON.stringify(value)} must be an integer from 1 to ${max}.`;
    }
  }
  if (!Array.isArray(record.evalLengthFactors) || record.evalLengthFactors.some((factor) => typeof factor !== 'number')) {
    return 'evalLengthFactors must be a list of numbers.';
  }
  if (typeof task.dataVocab === 'number' && task.dataVocab > MAX_DATA_VOCAB) return `dataVocab = ${task.dataVocab} is above the maximum of ${MAX_DATA_VOCAB}.`;

  const labOptions = options as LabOptions;
  try {
    validateLabOptions(labOptions);
  } catch (error) {
    return (error as Error).message;
  }
  const length = sequenceLength(labOptions.task);
  if (length > MAX_LAB_SEQUENCE_LENGTH) {
    return `The sequences are ${length} tokens long, above the maximum of ${MAX_LAB_SEQUENCE_LENGTH}; lower the length.`;
  }
  const longest = length * Math.max(...labOptions.evalLengthFactors);
  if (longest > MAX_LAB_EVAL_LENGTH) {
    return `The longest evaluated sequence is ${longest} tokens, above the maximum of ${MAX_LAB_EVAL_LENGTH}; lower the length or the length factors.`;
  }
  return null;
}

/** Drops the trained weights and the gate and state-norm traces, which the Lab view does not show. */
export function toLabRunResult(result: LabResult): LabRunResult {
  const { example } = result;
  return {
    options: result.options,
    config: result.config,
    parameterCount: result.parameterCount,
    vocabulary: result.vocabulary,
    stepsRun: result.stepsRun,
    endedEarly: result.endedEarly,
    skippedSteps: result.skippedSteps,
    finalLoss: result.finalLoss,
    trainSec: result.trainSec,
    evalSec: result.evalSec,
    accuracy: result.accuracy,
    evaluations: result.evaluations,
    checks: result.checks,
    deltaByRole: result.deltaByRole,
    deltaProfile: result.deltaProfile,
    example: {
      tokens: example.tokens,
      roles: example.roles,
      targets: example.targets,
      answerMask: example.answerMask,
      predictions: example.predictions,
      channels: example.channels,
      delta: example.layers.map((layer) => layer.delta),
    },
  };
}

/** Maps an error of runLab to the EngineError the UI explains. */
export function labError(error: unknown): EngineError {
  if (error instanceof Error && DIVERGED.test(error.message)) return engineError('training-diverged', error.message, 'Lower the learning rate, or run again with another seed.');
  return backendError(error);
}

export interface LabSessionDependencies {
  ctx: GpuContext;
  emit(event: EngineEvent): void;
}

export class LabSession {
  private readonly cancelController = new AbortController();
  private readonly stopController = new AbortController();
  private finished = false;
  /** Set by dispose(): the backend is going away, so no more events are sent. */
  private silenced = false;
  /** Resolves once the run has ended and its events were sent; it never rejects. */
  readonly done: Promise<void>;

  constructor(
    private readonly deps: LabSessionDependencies,
    readonly runId: number,
    private readonly options: LabOptions,
  ) {
    this.done = this.run();
  }

  /** True once the run has ended, whatever the reason. */
  get ended(): boolean {
    return this.finished;
  }

  /** Ends training after the current step; the evaluation and tracing still run. */
  stop(): void {
    this.stopController.abort();
  }

  /** Ends the run with no result; resolves once its `labEnd` event was sent. */
  async cancel(): Promise<void> {
    this.cancelController.abort();
    await this.done;
  }

  /** Aborts without further events; resolves once the run's GPU buffers are freed. */
  async dispose(): Promise<void> {
    this.silenced = true;
    await this.cancel();
  }

  private emitProgress(progress: LabProgress): void {
    this.send({ kind: 'event', type: 'labProgress', runId: this.runId, progress });
  }

  private send(event: EngineEvent): void {
    if (!this.silenced) this.deps.emit(event);
  }

  private async run(): Promise<void> {
    const { ctx } = this.deps;
    try {
      const result = await withMemoryScope(ctx.device, 'running the lab', () =>
        runLab(ctx, this.options, {
          signal: this.cancelController.signal,
          stopTraining: this.stopController.signal,
          onPhase: (phase) => this.emitProgress({ kind: 'phase', phase }),
          onStep: (report) => this.emitProgress({ kind: 'step', ...report }),
          onCheck: (report) => this.emitProgress({ kind: 'check', ...report }),
          onEval: (report) => this.emitProgress({ kind: 'eval', ...report }),
          onSkip: (event) => {
            console.warn(`[engine] lab run ${this.runId}: step ${event.step} skipped, non-finite ${event.reason}`);
            this.emitProgress({ kind: 'skip', ...event });
          },
        }),
      );
      this.finished = true;
      this.send({ kind: 'event', type: 'labEnd', runId: this.runId, reason: 'complete', result: toLabRunResult(result) });
    } catch (error) {
      this.finished = true;
      if (this.cancelController.signal.aborted) {
        this.send({ kind: 'event', type: 'labEnd', runId: this.runId, reason: 'cancelled' });
        return;
      }
      const failure = labError(error);
      console.warn(`[engine] lab run ${this.runId} failed (${failure.code}): ${failure.message}`);
      this.send({ kind: 'event', type: 'labEnd', runId: this.runId, reason: 'failed', error: failure });
    }
  }
}
