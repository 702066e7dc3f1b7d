// Message protocol between the UI thread and the engine worker (renderer/engine/worker.ts).
//
// - The UI sends requests `{ kind: 'request', id, command, payload }`. The worker replies
//   to each with exactly one response carrying the same id: `ok: true` with the command's
//   result, or `ok: false` with an EngineError.
// - The worker also sends events with no id: training progress, generated audio chunks,
//   and errors that belong to no request (a lost device).
// - Audio, codes, traces and checkpoints travel as typed arrays. Senders transfer their
//   buffers (see `collectTransferables`), so a sender must not use an array after sending.
//
// Units: sample rates in Hz, times in seconds, positions and lengths of audio in samples
// at the model rate, losses in nats per sample (cross-entropy over 256 mu-law classes).
// The selectivity lab is the exception: its positions are tokens and its losses are in
// nats per answer token.

import type { LabCheckReport, LabEvalReport, LabOptions, LabPhase, LabStepReport } from '../../gpu/lab/lab';
import type { DeltaProfile, RoleDeltaSummary } from '../../gpu/lab/evaluate';
import type { TaskVocabulary } from '../../gpu/lab/tasks';
import type { ModelConfig } from '../../gpu/model/config';

export const ENGINE_PROTOCOL_VERSION = 3;

/** Error codes; each has a user-facing explanation in renderer/engine/errors.ts. */
export type EngineErrorCode =
  | 'no-webgpu'
  | 'no-adapter'
  | 'device-lost'
  | 'out-of-memory'
  | 'bad-checkpoint'
  | 'no-model'
  | 'busy'
  | 'invalid-request'
  | 'invalid-input'
  | 'training-diverged'
  | 'engine-unavailable'
  | 'internal';

export interface EngineError {
  code: EngineErrorCode;
  /** Description of the failure in words, naming the value involved. */
  message: string;
  /** Advice on what the user can do about it. */
  hint: string;
}

/** Request that produced the adapter: the options passed to `navigator.gpu.requestAdapter`. */
export type AdapterRequestMode = 'default' | 'compatibility' | 'force-fallback';

export interface AdapterSummary {
  /** Human-readable name for the UI, built from the adapter info. */
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  /** Backend reported by Chromium with developer features on (`vulkan`, `openGLES`, ...), else ''. */
  backend: string;
  /** Software or fallback adapter (SwiftShader, or one the browser flags as fallback). */
  isFallbackAdapter: boolean;
  requestMode: AdapterRequestMode;
  /** WebGPU features the adapter offers, sorted. */
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

export interface ModelSummary {
  /** Checkpoint file name, or `default` for the embedded model. */
  name: string;
  source: 'default' | 'checkpoint';
  parameterCount: number;
  /** 'flat': a stack of blocks at one width; 'sashimi': the U-Net of docs/sashimi.md. */
  backbone: 'flat' | 'sashimi';
  /** The U-Net's pool factors, outermost first; empty for a flat model. */
  poolFactors: number[];
  /** Mamba blocks, all levels together for a U-Net. */
  layers: number;
  /** Model width D, of the outermost level for a U-Net. */
  modelWidth: number;
  /** Inner width DI = E * D, the number of channels in each selectivity trace. */
  innerWidth: number;
  /** SSM state size N. */
  stateSize: number;
  sampleRateHz: number;
  /** Optimizer steps recorded in the checkpoint's trainer metadata, or null when it has none. */
  trainedSteps: number | null;
}

export interface TrainConfig {
  learningRate: number;
  /** Windows per optimizer step (B). */
  batchSize: number;
  /** Length of one training window in samples (L). */
  windowSamples: number;
  maxSteps: number;
  /** Fraction of the span held out, at its end, for the validation loss. */
  validationFraction: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  gradClipNorm: number;
  /** Steps between validation-loss evaluations. */
  validateEverySteps: number;
  /** Steps between checkpoint events; 0 sends one only at the end. */
  checkpointEverySteps: number;
  seed: number;
}

export interface GenerateConfig {
  lengthSec: number;
  /** Softmax temperature; 1 samples the model's distribution unchanged. */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 turns it off. */
  topP: number;
  seed: number;
  sampleRateHz: number;
}

export type TraceKind = 'delta' | 'gate' | 'stateNorm';

/**
 * One layer's trace over time. `data` has `timeSteps * channels` values, time-major:
 * the value of step t, channel c is `data[t * channels + c]`. Step t covers the audio
 * samples `[t * samplesPerStep, (t + 1) * samplesPerStep)` of the inspected clip.
 */
export interface SelectivityTrace {
  /** Layer of a flat model, or block of a U-Net in forward order. */
  layer: number;
  /** U-Nets only: the block's stage, such as "level 1 down", whose steps each cover 4 samples there. */
  stage?: string;
  kind: TraceKind;
  timeSteps: number;
  channels: number;
  samplesPerStep: number;
  data: Float32Array;
}

export type TrainCommand =
  | {
      action: 'start';
      config: TrainConfig;
      /** Mu-law codes (0..255) of the training span at the model rate. */
      trainCodes: Uint8Array;
      validationCodes: Uint8Array;
    }
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'stop' };

export type GenerateCommand =
  | {
      action: 'start';
      config: GenerateConfig;
      /** Mu-law codes the recurrent state is primed with, or null to start from silence. */
      promptCodes: Uint8Array | null;
    }
  | { action: 'stop' };

/**
 * Selectivity lab runs. `start` trains a fresh token model of its own in the worker, so the
 * loaded audio model is left as it is. `stop` ends training early and still evaluates;
 * `cancel` ends the run with no result. `start` and `stop` return without waiting for the
 * run to end, and `cancel` returns once it has ended; the `labEnd` event reports the end.
 */
export type LabCommand =
  | {
      action: 'start';
      /** Chosen by the UI and repeated in every event of the run, so the UI can ignore events of an older run. */
      runId: number;
      options: LabOptions;
    }
  | { action: 'stop' }
  | { action: 'cancel' };

/** Progress of a lab run, as runLab reports it (gpu/lab/lab.ts). */
export type LabProgress =
  | { kind: 'phase'; phase: LabPhase }
  | ({ kind: 'step' } & LabStepReport)
  | ({ kind: 'check' } & LabCheckReport)
  | ({ kind: 'eval' } & LabEvalReport)
  | { kind: 'skip'; step: number; reason: string };

/** The traced example sequence of a lab run; every per-position array has L entries. */
export interface LabExampleTrace {
  tokens: Uint32Array;
  /** TokenRole (gpu/lab/tasks.ts) of each position. */
  roles: Uint8Array;
  /** Expected output at each position, meaningful where `answerMask` is 1. */
  targets: Uint32Array;
  answerMask: Float32Array;
  /** Argmax prediction of the trained model at every position. */
  predictions: Uint32Array;
  /** Inner width DI, the channel count of each delta trace. */
  channels: number;
  /** Per layer, delta of shape (L, DI), time-major: `delta[layer][t * channels + c]`. */
  delta: Float32Array[];
}

/** Result of a finished lab run as sent to the UI: LabResult of gpu/lab/lab.ts without the weights. */
export interface LabRunResult {
  options: LabOptions;
  config: ModelConfig;
  parameterCount: number;
  vocabulary: TaskVocabulary;
  stepsRun: number;
  /** True when training ended before `options.steps`, for example on `stop`. */
  endedEarly: boolean;
  skippedSteps: number;
  /** Loss of the last training step, in nats per answer token. */
  finalLoss: number;
  trainSec: number;
  evalSec: number;
  /** Accuracy at the training length. */
  accuracy: number;
  /** Final accuracy on fresh sequences, one entry per evaluated length. */
  evaluations: LabEvalReport[];
  /** Accuracy on the fixed check set during training. */
  checks: LabCheckReport[];
  deltaByRole: RoleDeltaSummary[];
  deltaProfile: DeltaProfile[];
  example: LabExampleTrace;
}

export type LabEndReason = 'complete' | 'cancelled' | 'failed';

/** Every command with its request payload and its result. */
export interface EngineCommands {
  init: { payload: Record<string, never>; result: AdapterSummary };
  loadModel: { payload: { checkpoint: Uint8Array; name: string }; result: ModelSummary };
  loadDefaultModel: { payload: Record<string, never>; result: ModelSummary };
  train: { payload: TrainCommand; result: { accepted: true } };
  generate: { payload: GenerateCommand; result: { accepted: true } };
  inspect: {
    /**
     * `codes` starts with `contextSamples` codes (default 0), such as the audio before a
     * region, that only prime the model's state. The traces cover the codes after them.
     */
    payload: { codes: Uint8Array; sampleRateHz: number; contextSamples?: number };
    result: { traces: SelectivityTrace[] };
  };
  /** Serializes the current weights as a safetensors file. */
  exportCheckpoint: { payload: Record<string, never>; result: { bytes: Uint8Array; step: number } };
  lab: { payload: LabCommand; result: { accepted: true } };
}

export type EngineCommandName = keyof EngineCommands;
export type EnginePayload<C extends EngineCommandName> = EngineCommands[C]['payload'];
export type EngineResult<C extends EngineCommandName> = EngineCommands[C]['result'];

export type EngineRequest = {
  [C in EngineCommandName]: { kind: 'request'; id: number; command: C; payload: EnginePayload<C> };
}[EngineCommandName];

export type EngineResponse =
  | { [C in EngineCommandName]: { kind: 'response'; id: number; command: C; ok: true; result: EngineResult<C> } }[EngineCommandName]
  | { kind: 'response'; id: number; command: EngineCommandName; ok: false; error: EngineError };

export type TrainRunState = 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

export interface TrainProgress {
  step: number;
  /**
   * Training loss of this step, or null in a report that only carries the validation loss
   * measured before the first step of a run.
   */
  loss: number | null;
  /** Validation loss, present on the steps where it was evaluated. */
  valLoss?: number;
  samplesPerSec: number;
  /** Estimated seconds until maxSteps. */
  etaSec: number;
}

export type EngineEvent =
  | ({ kind: 'event'; type: 'trainProgress' } & TrainProgress)
  | { kind: 'event'; type: 'trainState'; state: TrainRunState; error?: EngineError }
  | { kind: 'event'; type: 'checkpoint'; step: number; loss: number | null; reason: CheckpointReason; bytes: Uint8Array }
  | { kind: 'event'; type: 'generateChunk'; samples: Float32Array; codes: Uint8Array; startSample: number; sampleRateHz: number }
  | { kind: 'event'; type: 'generateEnd'; totalSamples: number; reason: GenerateEndReason; error?: EngineError }
  | { kind: 'event'; type: 'inspectProgress'; doneSamples: number; totalSamples: number }
  | { kind: 'event'; type: 'labProgress'; runId: number; progress: LabProgress }
  /** The end of a lab run: `result` when complete, `error` when failed, neither when cancelled. */
  | { kind: 'event'; type: 'labEnd'; runId: number; reason: LabEndReason; result?: LabRunResult; error?: EngineError }
  | { kind: 'event'; type: 'error'; error: EngineError };

/** Why a checkpoint was sent: every `checkpointEverySteps`, or at the end of a run (stop or last step). */
export type CheckpointReason = 'periodic' | 'final';

export type GenerateEndReason = 'complete' | 'stopped' | 'failed';

export type EngineEventType = EngineEvent['type'];
export type EngineEventOf<T extends EngineEventType> = Extract<EngineEvent, { type: T }>;

export type WorkerToUiMessage = EngineResponse | EngineEvent;

const COMMAND_NAMES: readonly EngineCommandName[] = ['init', 'loadModel', 'loadDefaultModel', 'train', 'generate', 'inspect', 'exportCheckpoint', 'lab'];

export function isEngineCommandName(value: unknown): value is EngineCommandName {
  return typeof value === 'string' && (COMMAND_NAMES as readonly string[]).includes(value);
}

/**
 * Collects the buffers of every typed array in a message, for postMessage's transfer
 * list. Shared buffers are skipped (they cannot be transferred), and a buffer reached
 * twice is listed once, since listing it twice makes postMessage throw.
 */
export function collectTransferables(message: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    if (ArrayBuffer.isView(value)) {
      if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
      return;
    }
    if (value instanceof ArrayBuffer) {
      found.add(value);
      return;
    }
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) visit(child, depth + 1);
  };
  visit(message, 0);
  return [...found];
}
