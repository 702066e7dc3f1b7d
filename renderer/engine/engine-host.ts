// The worker side of the engine protocol, kept free of worker globals so that tests can
// drive it with a fake GPU and a fake `post`. renderer/engine/worker.ts connects it to
// the worker's message port.
//
// The host owns the WebGPU adapter and device. Model commands go to an EngineBackend,
// created once a device exists. A build without a backend rejects them with the
// 'engine-unavailable' error instead of inventing results.

import { selectAdapter } from './adapter';
import { engineError, toEngineError } from './errors';
import {
  collectTransferables,
  isEngineCommandName,
  type AdapterSummary,
  type EngineCommandName,
  type EngineError,
  type EngineEvent,
  type EngineRequest,
  type EngineResult,
  type GenerateCommand,
  type LabCommand,
  type ModelSummary,
  type SelectivityTrace,
  type TrainCommand,
  type WorkerToUiMessage,
} from './protocol';

/** Context handed to a backend: the device it must use and a way to send events. */
export interface EngineBackendContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterSummary: AdapterSummary;
  /** Sends an event to the UI; typed-array buffers in it are transferred. */
  emit(event: EngineEvent): void;
}

/**
 * The engine as the worker drives it. Methods that start long work (`train`, `generate`
 * and `lab` with `start`) resolve once the work has started and report progress
 * with `emit`. Any method may throw an EngineError-shaped object (see errors.ts) to pass a
 * specific code such as 'bad-checkpoint' or 'out-of-memory' to the UI.
 */
export interface EngineBackend {
  loadModel(checkpoint: Uint8Array, name: string): Promise<ModelSummary>;
  loadDefaultModel(): Promise<ModelSummary>;
  train(command: TrainCommand): Promise<void>;
  generate(command: GenerateCommand): Promise<void>;
  /** Traces the codes after the first `contextSamples`, which only prime the state. */
  inspect(codes: Uint8Array, sampleRateHz: number, contextSamples?: number): Promise<SelectivityTrace[]>;
  exportCheckpoint(): Promise<{ bytes: Uint8Array; step: number }>;
  /**
   * Starts, stops or cancels a selectivity lab run on a model of its own. Resolves once the
   * request took effect; progress and the end arrive as `labProgress` and `labEnd` events.
   */
  lab(command: LabCommand): Promise<void>;
  /** Stops running work and frees GPU buffers; the device itself belongs to the host. */
  dispose(): void;
}

export type EngineBackendFactory = (context: EngineBackendContext) => EngineBackend;

export interface EngineHostOptions {
  /** `navigator.gpu`, or undefined where WebGPU is missing. */
  gpu: GPU | undefined;
  post(message: WorkerToUiMessage, transfer: Transferable[]): void;
  /** Absent until the engine from gpu/ is wired in; model commands then fail clearly. */
  createBackend?: EngineBackendFactory;
}

export interface EngineHost {
  handleMessage(data: unknown): Promise<void>;
}

/**
 * Limits raised to the adapter's maximum when they exceed the defaults. The list is the
 * same as RAISED_LIMITS in gpu/device.ts, because the engine's kernels are sized for those
 * values. Compatibility mode's defaults are lower, 128 invocations per workgroup for one.
 */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Features enabled when the adapter offers them; the engine checks `device.features`
 * before using one. Keep in step with OPTIONAL_FEATURES in gpu/device.ts.
 */
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];

interface GpuState {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
  backend: EngineBackend | null;
}

export function createEngineHost(options: EngineHostOptions): EngineHost {
  let state: GpuState | null = null;

  const send = (message: WorkerToUiMessage): void => options.post(message, collectTransferables(message));
  const emit = (event: EngineEvent): void => send(event);

  async function init(): Promise<AdapterSummary> {
    if (state) return state.summary;
    if (!options.gpu) {
      throw engineError('no-webgpu', 'navigator.gpu is undefined in the engine worker: this browser has no WebGPU.');
    }
    const selected = await selectAdapter(options.gpu);
    if (!selected) {
      throw engineError('no-adapter', 'requestAdapter returned null for the default, compatibility and fallback requests.');
    }

    const requiredLimits: Record<string, number> = {};
    for (const name of RAISED_LIMITS) {
      const value = selected.adapter.limits[name];
      if (typeof value === 'number') requiredLimits[name] = value;
    }
    let device: GPUDevice;
    try {
      const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => selected.adapter.features.has(feature));
      device = await selected.adapter.requestDevice({ label: 'mamba-audio engine', requiredLimits, requiredFeatures });
    } catch (error) {
      throw engineError('no-adapter', `requestDevice failed on ${selected.summary.name}: ${(error as Error).message}`);
    }

    const current: GpuState = { adapter: selected.adapter, device, summary: selected.summary, backend: null };
    state = current;
    watchDevice(current);
    if (options.createBackend) {
      current.backend = options.createBackend({ adapter: current.adapter, device, adapterSummary: current.summary, emit });
    }
    return current.summary;
  }

  function watchDevice(current: GpuState): void {
    current.device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      const outOfMemory = typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError;
      const code = outOfMemory ? 'out-of-memory' : 'internal';
      emit({ kind: 'event', type: 'error', error: engineError(code, `WebGPU error: ${error.message}`) });
    });
    void current.device.lost.then((info) => {
      if (state === current) {
        current.backend?.dispose();
        state = null;
      }
      if (info.reason === 'destroyed') return;
      emit({
        kind: 'event',
        type: 'error',
        error: engineError('device-lost', `The GPU device on ${current.summary.name} was lost: ${info.message || 'no reason given'}.`),
      });
    });
  }

  function requireBackend(command: EngineCommandName): EngineBackend {
    if (!state) throw engineError('invalid-request', `The engine received "${command}" before "init".`);
    if (!state.backend) {
      throw engineError('engine-unavailable', `Cannot run "${command}": the WebGPU engine is not connected to this build yet.`);
    }
    return state.backend;
  }

  async function run(request: EngineRequest): Promise<EngineResult<EngineCommandName>> {
    switch (request.command) {
      case 'init':
        return init();
      case 'loadModel':
        expectBytes(request.payload.checkpoint, 'payload.checkpoint');
        return requireBackend('loadModel').loadModel(request.payload.checkpoint, request.payload.name);
      case 'loadDefaultModel':
        return requireBackend('loadDefaultModel').loadDefaultModel();
      case 'train':
        await requireBackend('train').train(request.payload);
        return { accepted: true };
      case 'generate':
        await requireBackend('generate').generate(request.payload);
        return { accepted: true };
      case 'inspect':
        expectBytes(request.payload.codes, 'payload.codes');
        return { traces: await requireBackend('inspect').inspect(request.payload.codes, request.payload.sampleRateHz, request.payload.contextSamples) };
      case 'exportCheckpoint':
        return requireBackend('exportCheckpoint').exportCheckpoint();
      case 'lab':
        await requireBackend('lab').lab(request.payload);
        return { accepted: true };
    }
  }

  async function handleMessage(data: unknown): Promise<void> {
    const parsed = parseRequest(data);
    if ('error' in parsed) {
      if (parsed.id === null) emit({ kind: 'event', type: 'error', error: parsed.error });
      else send({ kind: 'response', id: parsed.id, command: parsed.command ?? 'init', ok: false, error: parsed.error });
      return;
    }

    const request = parsed.request;
    try {
      const result = await run(request);
      send({ kind: 'response', id: request.id, command: request.command, ok: true, result } as WorkerToUiMessage);
    } catch (error) {
      send({ kind: 'response', id: request.id, command: request.command, ok: false, error: toEngineError(error) });
    }
  }

  return { handleMessage };
}

type ParsedRequest =
  | { request: EngineRequest }
  | { error: EngineError; id: number | null; command: EngineCommandName | null };

/** Checks the envelope of a request; payload fields are checked by the command that uses them. */
export function parseRequest(data: unknown): ParsedRequest {
  if (typeof data !== 'object' || data === null) {
    return { error: engineError('invalid-request', `Engine message is ${data === null ? 'null' : typeof data}, expected an object.`), id: null, command: null };
  }
  const record = data as Record<string, unknown>;
  const id = typeof record.id === 'number' && Number.isSafeInteger(record.id) ? record.id : null;
  if (record.kind !== 'request' || id === null) {
    return { error: engineError('invalid-request', 'Engine message is not a request with an integer id.'), id: null, command: null };
  }
  if (!isEngineCommandName(record.command)) {
    return { error: engineError('invalid-request', `Unknown engine command ${JSON.stringify(record.command)}.`), id, command: null };
  }
  if (typeof record.payload !== 'object' || record.payload === null) {
    return { error: engineError('invalid-request', `The payload of "${record.command}" must be an object.`), id, command: record.command };
  }
  return { request: data as EngineRequest };
}

function expectBytes(value: unknown, name: string): void {
  if (!(value instanceof Uint8Array)) throw engineError('invalid-request', `${name} must be a Uint8Array.`);
}
