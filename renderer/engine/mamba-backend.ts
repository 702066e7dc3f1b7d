// The EngineBackend over the WebGPU engine in gpu/: loads checkpoints of either backbone
// (a flat MambaLM or a SaShiMi U-Net, through createLanguageModel), fine-tunes it (training-session.ts), generates from it (generation-session.ts) and
// traces its selectivity (inspection-plan.ts), all on the device the host opened. It also
// runs the selectivity lab (lab-session.ts) on a token model of its own.
//
// One task uses the GPU at a time. The exception is a paused training run: it keeps its
// optimizer while the user generates from or inspects the weights reached so far, or
// runs the lab.
// Requests that would overlap are rejected with the 'busy' error, which names the task.

import { ZERO_CODE } from '../../audio/mulaw';
import { GpuContext } from '../../gpu/context';
import type { AdapterMode } from '../../gpu/device';
import { createBackboneGenerator, type BackboneGenerator } from '../../gpu/generate/backbone';
import { decodeCheckpoint, encodeCheckpoint } from '../../gpu/model/checkpoint';
import { innerWidth, parameterCount, type ModelConfig } from '../../gpu/model/config';
import { createLanguageModel, type LanguageModel } from '../../gpu/model/language-model';
import { poolProduct, tracedBlocks } from '../../gpu/model/sashimi-config';
import { backendError, withMemoryScope } from './backend-errors';
import type { EngineBackend, EngineBackendContext } from './engine-host';
import { engineError } from './errors';
import { checkGenerateConfig, runGeneration } from './generation-session';
import { batchInputs, planInspection, samplesPerTraceStep, TracePooler, type InspectionLimits } from './inspection-plan';
import { checkLabOptions, LabSession } from './lab-session';
import { INSPECT_CONTEXT_SAMPLES } from './limits';
import type { AdapterRequestMode, EngineEvent, GenerateCommand, LabCommand, ModelSummary, SelectivityTrace, TraceKind, TrainCommand } from './protocol';
import { checkTrainConfig, TrainingSession } from './training-session';

export interface MambaBackendOptions {
  /** Fetches the default model's checkpoint bytes, or resolves null when this build has none. */
  fetchDefaultModel(): Promise<Uint8Array | null>;
  /** Location of the default model in the repository, named in the message when it is missing. */
  defaultModelLocation: string;
}

/** The model rate the app prepares clips at (audio/prepare.ts); other rates cannot be used. */
export const APP_SAMPLE_RATE_HZ = 16000;

const INSPECTION_LIMITS: InspectionLimits = {
  segmentSamples: 4096,
  warmupSamples: INSPECT_CONTEXT_SAMPLES,
  // Activations of the default model (D 64, 4 layers) take about 24 KB per row: 16,384 rows
  // are about 400 MB, an estimate from the tensor shapes in gpu/model/lm.ts. Larger models
  // get fewer rows in proportion (see tracedBlocks).
  maxRows: 16384,
};

/** Sum of width over stride of the model that INSPECTION_LIMITS.maxRows is sized for: D 64, 4 layers. */
const INSPECTION_SIZED_FOR = 64 * 4;

/** Maximum count of numbers in the traces of one inspection, all layers and kinds together: 64 MiB of float32. */
const MAX_TRACE_VALUES = 16 * 2 ** 20;

const TRACE_KINDS: readonly TraceKind[] = ['delta', 'gate', 'stateNorm'];

const ADAPTER_MODES: Record<AdapterRequestMode, AdapterMode> = {
  default: 'core',
  compatibility: 'compatibility',
  'force-fallback': 'fallback',
};

interface LoadedModel {
  summary: ModelSummary;
  config: ModelConfig;
  model: LanguageModel;
}

/** Returns why a U-Net cannot train on windows of `windowSamples`, or null when it can (always for flat models). */
function checkWindowForBackbone(config: ModelConfig, windowSamples: number): string | null {
  const product = poolProduct(config);
  if (windowSamples % product === 0) return null;
  const nearest = Math.max(product, Math.round(windowSamples / product) * product);
  return `The window length ${windowSamples} is not a multiple of ${product}, the product of this U-Net's pool factors [${config.sashimi?.pool.join(', ')}]; set it to a multiple such as ${nearest}.`;
}

export function createMambaBackend(context: EngineBackendContext, options: MambaBackendOptions): EngineBackend {
  return new MambaBackend(context, options);
}

class MambaBackend implements EngineBackend {
  private readonly ctx: GpuContext;
  private loaded: LoadedModel | null = null;
  /** Incremented whenever the weights change; the generator is rebuilt when it lags behind. */
  private weightsVersion = 0;
  /** Optimizer steps behind the current weights: the checkpoint's, then the last training step. */
  private weightsStep = 0;
  private generator: { generator: BackboneGenerator; version: number } | null = null;
  private training: TrainingSession | null = null;
  private generation: { controller: AbortController; done: Promise<void> } | null = null;
  private labRun: LabSession | null = null;
  /** The exclusive task that uses the GPU outside training and generation (loading a model, inspecting), or null. */
  private task: string | null = null;
  private disposed = false;

  constructor(
    private readonly context: EngineBackendContext,
    private readonly options: MambaBackendOptions,
  ) {
    const summary = context.adapterSummary;
    this.ctx = new GpuContext({ device: context.device, adapterName: summary.name, mode: ADAPTER_MODES[summary.requestMode], isFallbackAdapter: summary.isFallbackAdapter });
    // The host reports the loss and disposes this backend; stopping work here ends it sooner.
    this.ctx.onDeviceLost(() => this.abortAll());
  }

  // --- models --------------------------------------------------------------------------

  async loadModel(checkpoint: Uint8Array, name: string): Promise<ModelSummary> {
    return this.exclusive({ doing: `loading ${name}`, action: 'load a model' }, () => this.load(checkpoint, name, 'checkpoint'));
  }

  async loadDefaultModel(): Promise<ModelSummary> {
    return this.exclusive({ doing: 'loading the default model', action: 'load a model' }, async () => {
      const bytes = await this.options.fetchDefaultModel();
      if (!bytes) {
        throw engineError(
          'no-model',
          `This build has no default model: ${this.options.defaultModelLocation} was missing when it was built.`,
          'Open a checkpoint with "Open checkpoint…" in the Train view (Ctrl+Shift+O), or rebuild the app once the default model exists.',
        );
      }
      return this.load(bytes, 'default', 'default');
    });
  }

  private async load(bytes: Uint8Array, name: string, source: ModelSummary['source']): Promise<ModelSummary> {
    const training = this.activeTraining();
    if (training) throw this.busyError(`Training is ${training.state}`, 'Stop training before you load another model.');

    let checkpoint;
    try {
      checkpoint = decodeCheckpoint(bytes, name);
    } catch (error) {
      throw engineError('bad-checkpoint', (error as Error).message);
    }
    const { config } = checkpoint;
    if (config.encoding !== 'mu-law') {
      throw engineError('bad-checkpoint', `${name} is a model of ${config.encoding === 'tokens' ? `${config.vocabSize} tokens` : 'linear 8-bit audio'}; this app feeds models 8-bit mu-law audio.`);
    }
    if (config.sampleRateHz !== APP_SAMPLE_RATE_HZ) {
      throw engineError('bad-checkpoint', `${name} was trained at ${config.sampleRateHz} Hz; this app prepares audio at ${APP_SAMPLE_RATE_HZ} Hz.`);
    }

    const model = await withMemoryScope(this.context.device, `loading ${name}`, () => createLanguageModel(this.ctx, config, checkpoint.params));
    this.releaseModel();
    const trainedSteps = typeof checkpoint.trainer?.step === 'number' ? checkpoint.trainer.step : null;
    const summary: ModelSummary = {
      name,
      source,
      parameterCount: parameterCount(config),
      backbone: config.backbone === 'sashimi' ? 'sashimi' : 'flat',
      poolFactors: config.backbone === 'sashimi' ? [...(config.sashimi?.pool ?? [])] : [],
      layers: config.nLayers,
      modelWidth: config.dModel,
      innerWidth: innerWidth(config),
      stateSize: config.dState,
      sampleRateHz: config.sampleRateHz,
      trainedSteps,
    };
    this.loaded = { summary, config, model };
    this.weightsVersion++;
    this.weightsStep = trainedSteps ?? 0;
    return summary;
  }

  async exportCheckpoint(): Promise<{ bytes: Uint8Array; step: number }> {
    const loaded = this.requireModel();
    const step = this.weightsStep;
    const params = await loaded.model.readParameters();
    return { bytes: encodeCheckpoint({ config: loaded.config, params, trainer: { step } }), step };
  }

  // --- training ------------------------------------------------------------------------

  async train(command: TrainCommand): Promise<void> {
    switch (command.action) {
      case 'start': {
        const loaded = this.requireModel();
        const current = this.activeTraining();
        if (current) throw this.busyError(`Training is already ${current.state}`, 'Resume or stop the current run first.');
        this.requireIdle('start training');
        const problem = checkTrainConfig(command.config) ?? checkWindowForBackbone(loaded.config, command.config.windowSamples);
        if (problem) throw engineError('invalid-input', problem);
        if (!(command.trainCodes instanceof Uint8Array) || !(command.validationCodes instanceof Uint8Array)) {
          throw engineError('invalid-request', 'trainCodes and validationCodes must be Uint8Arrays.');
        }
        const dependencies = {
          ctx: this.ctx,
          model: loaded.model,
          emit: (event: EngineEvent) => this.emit(event),
          onWeightsChanged: (step: number) => {
            this.weightsVersion++;
            this.weightsStep = step;
          },
        };
        const session = await withMemoryScope(this.context.device, 'setting up training', () =>
          new TrainingSession(dependencies, command.config, command.trainCodes, command.validationCodes),
        );
        this.training = session;
        session.start();
        return;
      }
      case 'pause':
        await this.requireTraining('pause').pause();
        return;
      case 'resume':
        this.requireIdle('resume training');
        this.requireTraining('resume').resume();
        return;
      case 'stop': {
        // A run that ended on its own while the request was on its way needs no stop.
        const session = this.activeTraining();
        if (!session) return;
        await session.stop();
        if (this.training === session) this.training = null;
        return;
      }
    }
  }

  // --- generation ----------------------------------------------------------------------

  async generate(command: GenerateCommand): Promise<void> {
    if (command.action === 'stop') {
      const current = this.generation;
      if (!current) return;
      current.controller.abort();
      await current.done;
      return;
    }

    const loaded = this.requireModel();
    if (this.activeTraining()?.state === 'running') throw this.busyError('Training is running', 'Pause or stop training, then generate.');
    this.requireIdle('generate');
    const problem = checkGenerateConfig(command.config, loaded.config.sampleRateHz);
    if (problem) throw engineError('invalid-input', problem);
    if (command.promptCodes !== null && !(command.promptCodes instanceof Uint8Array)) {
      throw engineError('invalid-request', 'promptCodes must be a Uint8Array or null.');
    }

    const controller = new AbortController();
    const entry = { controller, done: Promise.resolve() };
    this.generation = entry;
    try {
      const generator = await this.currentGenerator(loaded);
      entry.done = runGeneration({ generator, emit: (event) => this.emit(event), signal: controller.signal }, command.config, command.promptCodes).finally(() => {
        if (this.generation === entry) this.generation = null;
      });
    } catch (error) {
      this.generation = null;
      throw backendError(error);
    }
  }

  /** The generator for the current weights, rebuilt after they changed. */
  private async currentGenerator(loaded: LoadedModel): Promise<BackboneGenerator> {
    if (this.generator && this.generator.version === this.weightsVersion) return this.generator.generator;
    this.generator?.generator.destroy();
    this.generator = null;
    const version = this.weightsVersion;
    const params = await loaded.model.readParameters();
    const generator = await withMemoryScope(this.context.device, 'preparing the generator', () => createBackboneGenerator(this.ctx, loaded.config, params, { batch: 1 }));
    this.generator = { generator, version };
    return generator;
  }

  // --- selectivity lab ----------------------------------------------------------------

  async lab(command: LabCommand): Promise<void> {
    switch (command.action) {
      case 'start': {
        if (!Number.isSafeInteger(command.runId)) throw engineError('invalid-request', `runId = ${JSON.stringify(command.runId)} must be an integer.`);
        const current = this.activeLab();
        if (current) throw this.busyError('A lab run is already running', 'Wait for it to finish, or cancel it first.');
        if (this.activeTraining()?.state === 'running') throw this.busyError('Training is running', 'Pause or stop training, then run the lab.');
        this.requireIdle('run the lab');
        const problem = checkLabOptions(command.options);
        if (problem) throw engineError('invalid-input', problem, 'Change the lab setting named in the message, then run again.');
        this.labRun = new LabSession({ ctx: this.ctx, emit: (event) => this.emit(event) }, command.runId, command.options);
        return;
      }
      case 'stop':
        // A run that ended while the request was on its way needs no stop.
        this.activeLab()?.stop();
        return;
      case 'cancel': {
        const session = this.activeLab();
        if (!session) return;
        await session.cancel();
        if (this.labRun === session) this.labRun = null;
        return;
      }
      default:
        throw engineError('invalid-request', `Unknown lab action ${JSON.stringify((command as { action?: unknown }).action)}; use "start", "stop" or "cancel".`);
    }
  }

  /** Returns the lab run, or null when there is none or it has ended. */
  private activeLab(): LabSession | null {
    if (this.labRun?.ended) this.labRun = null;
    return this.labRun;
  }

  // --- inspection ----------------------------------------------------------------------

  async inspect(codes: Uint8Array, sampleRateHz: number, contextSamples = 0): Promise<SelectivityTrace[]> {
    const loaded = this.requireModel();
    if (this.activeTraining()?.state === 'running') throw this.busyError('Training is running', 'Pause or stop training, then inspect.');
    if (sampleRateHz !== loaded.config.sampleRateHz) {
      throw engineError('invalid-input', `The audio is at ${sampleRateHz} Hz, but the model was trained at ${loaded.config.sampleRateHz} Hz.`);
    }
    if (!Number.isInteger(contextSamples) || contextSamples < 0 || contextSamples >= codes.length) {
      throw engineError('invalid-input', `Nothing to inspect: ${codes.length} samples of which ${contextSamples} are context.`, 'Select a region of at least one sample.');
    }
    return this.exclusive({ doing: 'inspecting', action: 'inspect' }, () => this.trace(loaded, codes, contextSamples));
  }

  private async trace(loaded: LoadedModel, allCodes: Uint8Array, allContext: number): Promise<SelectivityTrace[]> {
    // Only the last warm-up's worth of context can influence the plan's first segment.
    const trim = Math.max(0, allContext - INSPECTION_LIMITS.warmupSamples);
    const codes = allCodes.subarray(trim);
    const contextSamples = allContext - trim;
    const { config, model } = loaded;
    const blocks = tracedBlocks(config);
    // Activation memory per row grows with each block's width and falls with its level's stride.
    const size = blocks.reduce((sum, block) => sum + block.channels / config.expand / block.stride, 0);
    const maxRows = Math.floor(INSPECTION_LIMITS.maxRows / Math.max(1, size / INSPECTION_SIZED_FOR));
    const plan = planInspection(codes.length, contextSamples, { ...INSPECTION_LIMITS, maxRows }, poolProduct(config));
    const samples = codes.length - contextSamples;
    const totalChannels = blocks.reduce((sum, block) => sum + block.channels, 0);
    const samplesPerStep = samplesPerTraceStep(samples, totalChannels, 1, TRACE_KINDS.length, MAX_TRACE_VALUES);
    const poolers = blocks.map((block) => TRACE_KINDS.map(() => new TracePooler(samples, block.channels, samplesPerStep, contextSamples)));

    let done = 0;
    for (let first = 0; first < plan.segments.length; first += plan.batchSize) {
      if (this.disposed) throw engineError('device-lost', 'The engine was shut down during the inspection.');
      const segments = plan.segments.slice(first, first + plan.batchSize);
      const inputs = batchInputs(codes, segments, plan.inputLength, plan.batchSize, ZERO_CODE);
      // Both models return one entry per layer or block in forward order, the U-Net's at its level's rate.
      const traced = await model.inspect(inputs, plan.batchSize);
      traced.forEach((values, index) => {
        const { stride } = blocks[index]!;
        poolers[index]![0]!.add(values.delta, segments, plan.batchSize, stride);
        poolers[index]![1]!.add(values.gate, segments, plan.batchSize, stride);
        poolers[index]![2]!.add(values.stateNorm, segments, plan.batchSize, stride);
      });
      done += segments.reduce((sum, segment) => sum + segment.outputEnd - segment.outputStart, 0);
      this.emit({ kind: 'event', type: 'inspectProgress', doneSamples: done, totalSamples: samples });
    }

    const traces: SelectivityTrace[] = [];
    poolers.forEach((kinds, index) => {
      const { index: layer, channels, stage } = blocks[index]!;
      kinds.forEach((pooler, kind) => {
        const trace: SelectivityTrace = { layer, kind: TRACE_KINDS[kind]!, timeSteps: pooler.timeSteps, channels, samplesPerStep, data: pooler.result() };
        if (stage) trace.stage = stage;
        traces.push(trace);
      });
    });
    return traces;
  }

  // --- lifetime ------------------------------------------------------------------------

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.abortAll();
    const stopped = [this.generation?.done, this.training?.dispose(), this.labRun?.dispose()];
    this.training = null;
    this.labRun = null;
    // Buffers go once running work has noticed the abort; the device itself belongs to the host.
    void Promise.allSettled(stopped).then(() => this.releaseModel());
  }

  private abortAll(): void {
    this.generation?.controller.abort();
  }

  private releaseModel(): void {
    this.generator?.generator.destroy();
    this.generator = null;
    this.loaded?.model.destroy();
    this.loaded = null;
  }

  // --- guards --------------------------------------------------------------------------

  private emit(event: EngineEvent): void {
    if (!this.disposed) this.context.emit(event);
  }

  private requireModel(): LoadedModel {
    if (!this.loaded) throw engineError('no-model', 'No model is loaded in the engine.');
    return this.loaded;
  }

  /** Returns the training run, or null when there is none or it has ended. */
  private activeTraining(): TrainingSession | null {
    if (this.training?.state === 'ended') this.training = null;
    return this.training;
  }

  private requireTraining(action: string): TrainingSession {
    const training = this.activeTraining();
    if (!training) throw engineError('invalid-request', `Cannot ${action} training: no training run is active.`);
    return training;
  }

  /** Throws 'busy' while generation, a lab run or an exclusive task runs; `action` completes "before you …". */
  private requireIdle(action: string): void {
    if (this.generation) throw this.busyError('Generation is running', `Stop it before you ${action}.`);
    if (this.activeLab()) throw this.busyError('The selectivity lab is running', `Wait for it to finish or cancel it in the Lab view before you ${action}.`);
    if (this.task) throw this.busyError(`The engine is ${this.task}`, `Wait for it to finish before you ${action}.`);
  }

  private async exclusive<T>(task: { doing: string; action: string }, body: () => Promise<T>): Promise<T> {
    this.requireIdle(task.action);
    this.task = task.doing;
    try {
      return await body();
    } catch (error) {
      throw backendError(error);
    } finally {
      this.task = null;
    }
  }

  private busyError(runningTask: string, hint: string) {
    return engineError('busy', `${runningTask}.`, hint);
  }
}
