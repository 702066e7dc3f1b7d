// The GPU generator: recurrent generation in constant memory, many steps per dispatch,
// sampling on the GPU, chunks streamed back to the caller.
//
//   const generator = createGenerator(ctx, config, params, { batch: 1 });
//   await generator.generate({ samples: 16000, temperature: 1, topP: 0.95, seed: 1,
//                              chunkSamples: 1024, onChunk: (codes, start) => ... });
//   generator.destroy();
//
// The weights go into one rgba32float texture once (pack.ts). The conv and SSM states of
// every layer, and the logits of the last step, stay on the GPU between calls. The kernel
// (kernel.ts) runs a whole dispatch of steps per workgroup. The host queues one dispatch
// at a time, sized by pacer.ts to about 50 ms, so an abort waits for at most that one. A
// finished chunk's codes are copied out and handed to the caller while the next dispatch
// runs.
//
// Semantics: the generator always keeps the logits of the last code it consumed ("pending
// logits"). generate() samples from them, feeds the sample back, and repeats; step() feeds
// given codes (teacher forcing) and returns their logits. Random draws are numbered by the
// samples generated since reset() or setState(), so a seed gives the same codes whatever
// the chunk size.
import { ShapeError, type GpuContext, type Tensor } from '../context';
import { innerWidth, requireFlatBackbone, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import type { LayerState } from '../reference/step';
import { BINDING, buildGenerateKernel, checkLanes, convStride, PARAMS_BYTES, type GeneratedKernel } from './kernel';
import { layerTableData, packWeights, planWeightLayout, type WeightLayout } from './pack';
import { CallGuard } from './call-guard';
import { validateSampling } from './sampler';
import { StepClock, waitForQueue, type QueueWait } from './pacer';

export type { LayerState } from '../reference/step';

/** Codes of one stream: bytes for vocabularies of up to 256 classes, else u32. */
export type CodeArray = Uint8Array | Uint32Array;

/**
 * Selectivity traces of one chunk: per layer, (rows, B, DI) time-major. For a flat model
 * row t is sample t of the chunk. For a SaShiMi U-Net, "layer" is a block in forward order
 * and DI its level's inner width. A level with stride r steps only on every r-th sample,
 * so a block has one row per step its level took during the chunk.
 */
export interface ChunkTraces {
  /** delta after softplus. */
  delta: Float32Array[];
  /** silu(z), the output gate. */
  gate: Float32Array[];
  /** L2 norm over n of the SSM state after the step. */
  stateNorm: Float32Array[];
  /** U-Nets only: per block, the chunk-relative index of the sample whose step produced each row. */
  stepSamples?: Uint32Array[];
}

export interface GeneratorOptions {
  /** Streams generated in parallel (B). */
  batch: number;
  /**
   * Use subgroup operations when the device offers them; default true.
   * NOTE: without them the kernel exchanges values through workgroup memory and about 24
   * barrier sites, which lavapipe compiled for about 4 minutes for a D = 64, 8-layer model.
   */
  subgroups?: boolean;
  /**
   * Streams S per workgroup, which share each weight fetch; default 1. On lavapipe S = 4
   * gave about 1.3 times the samples per CPU-second at batch 8, for a kernel that compiles
   * 5 to 8 times longer (a minute or more), because per-stream state access dominates.
   */
  streamsPerWorkgroup?: number;
  /** Upper bound on the steps of one dispatch; default 256, lower where the loop limit needs it. */
  maxStepsPerDispatch?: number;
}

export interface GenerateOptions {
  /** Samples to generate per stream. */
  samples: number;
  /** Softmax temperature; 0 picks the most probable class (greedy). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 keeps every class. */
  topP: number;
  /** Seed of the random draws (u32). */
  seed: number;
  /** Samples per stream in each chunk handed to onChunk. */
  chunkSamples: number;
  /** Receives each chunk: one code array per stream, and the chunk's first sample index in this call. */
  onChunk: (codes: CodeArray[], startSample: number, traces?: ChunkTraces) => void | Promise<void>;
  /** Stops generation once the dispatch running now ends; the partial chunk is still delivered. */
  signal?: AbortSignal;
  /** Also record delta, gate and state norm per layer and channel. */
  traces?: boolean;
  /** Code fed first when no logits are pending (after reset()); default V / 2, mid-scale. */
  startCode?: number;
}

export interface GenerateResult {
  /** Samples per stream generated and delivered. */
  samples: number;
  aborted: boolean;
}

export interface GeneratorInfo {
  /** Lanes per workgroup (W). */
  lanes: number;
  /** Streams per workgroup (S). */
  streamsPerWorkgroup: number;
  subgroups: boolean;
  /** Steps one dispatch runs at most; the pacer aims at about 50 ms per dispatch below that. */
  maxStepsPerDispatch: number;
  /** Loop iterations one invocation runs per step; times maxStepsPerDispatch, below 65,535. */
  loopIterationsPerStep: number;
  /** Bytes of the weight texture (not counted by ctx.memoryStats()). */
  textureBytes: number;
  layout: WeightLayout;
}

export interface Generator {
  readonly config: ModelConfig;
  readonly batch: number;
  readonly info: GeneratorInfo;
  /** Zeroes every state; the next generate() starts by feeding startCode. */
  reset(): void;
  /**
   * Loads per-layer states in gpu/README.md's layouts (conv (B, DI, K), SSM (B, DI, N)),
   * for example a prefill computed by the parallel scan. With `logits` (B, V), the next
   * generate() samples from them; without, it starts by feeding startCode.
   */
  setState(layers: LayerState[], options?: { logits?: Float32Array }): void;
  /** Reads every layer's state back in gpu/README.md's layouts. */
  getState(): Promise<LayerState[]>;
  /** Feeds codes (L, B) time-major, index t * B + b; returns their logits (L, B, V). */
  step(inputCodes: ArrayLike<number>): Promise<Float32Array>;
  generate(options: GenerateOptions): Promise<GenerateResult>;
  /** Compiles the kernel variant now (lavapipe compiles at first use); returns the milliseconds taken. */
  warmUp(options?: { traces?: boolean }): Promise<number>;
  /** Releases every buffer and the texture; the generator cannot be used afterwards. */
  destroy(): void;
}

/** Throws a RangeError naming the invalid option of a generate() call: the sampling, samples, chunkSamples or seed. */
export function validateGenerateOptions(options: GenerateOptions): void {
  validateSampling(options);
  const { samples, chunkSamples } = options;
  if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`generate: samples = ${samples} must be a non-negative integer`);
  if (!Number.isInteger(chunkSamples) || chunkSamples < 1) throw new RangeError(`generate: chunkSamples = ${chunkSamples} must be a positive integer`);
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) throw new RangeError(`generate: seed = ${options.seed} must be a u32`);
}

/** Most steps of one dispatch; the pacer usually picks fewer (about 50 ms of work). */
const DEFAULT_STEPS_PER_DISPATCH = 256;
/** Mesa's OpenGL ES path ends an invocation's loops after 65,535 iterations in all. */
const LOOP_ITERATION_LIMIT = 65535;
/** Teacher-forced steps per read-back in step(). */
const STEP_PIECE = 256;

/** Usage of every storage buffer; a function, because GPUBufferUsage exists only once WebGPU is set up. */
function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** Returns the largest power of two <= limit whose 4x divides D. */
function pickLanes(D: number, limit: number): number {
  let lanes = 1;
  while (lanes * 2 <= limit && D % (8 * lanes) === 0) lanes *= 2;
  return lanes;
}

/**
 * Chooses the lanes W of a generator kernel for width D, and whether it exchanges values
 * through subgroups (when requested and the device has them) or workgroup memory.
 */
export function chooseLanes(ctx: GpuContext, D: number, requestSubgroups = true): { lanes: number; subgroups: boolean } {
  const device = ctx.device;
  const subgroupMinSize = (device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
  const subgroups = requestSubgroups && device.features.has('subgroups') && typeof subgroupMinSize === 'number' && subgroupMinSize >= 1;
  // Without subgroups, 8 lanes fill one AVX2 SIMD chunk of lavapipe.
  return { lanes: pickLanes(D, subgroups ? Math.min(subgroupMinSize!, 32) : 8), subgroups };
}

/** Parameters of one dispatch (the kernel's Params struct). */
interface DispatchArgs {
  /** 0: sample, then feed the sample; 1: feed the inputs. */
  mode: number;
  steps: number;
  /** Random-draw counter of the first step. */
  counter: number;
  stepBegin?: number;
  seed?: number;
  temperature?: number;
  topP?: number;
  traceSteps?: number;
  pendingRow?: number;
}

interface Variant {
  kernel: GeneratedKernel;
  pipeline: GPUComputePipeline;
  /** False until its first dispatch finished: lavapipe compiles at first use, so that one is not timed. */
  compiled: boolean;
  bindGroup: GPUBindGroup | null;
  bindGroupVersion: number;
}

/** A growable GPU buffer of `elementsPerStep` u32/f32 per step. */
interface StepBuffer {
  buffer: GPUBuffer;
  steps: number;
}

class GpuGenerator implements Generator {
  readonly info: GeneratorInfo;
  private readonly layout: WeightLayout;
  private readonly V: number;
  private readonly DI: number;
  private readonly workgroups: number;
  private readonly texture: GPUTexture;
  private readonly textureView: GPUTextureView;
  private readonly paramsBuffer: GPUBuffer;
  private readonly layerTable: GPUBuffer;
  private readonly ssm: GPUBuffer;
  private readonly conv: GPUBuffer;
  private inputs: StepBuffer;
  private codes: StepBuffer;
  private logits: StepBuffer;
  private traces: StepBuffer | null = null;
  private readonly staging: { codes: StepBuffer[]; traces: StepBuffer[]; logits: StepBuffer | null } = { codes: [], traces: [], logits: null };
  private bindGroupVersion = 0;
  private readonly variants = new Map<boolean, Variant>();
  /** Measured step durations per kind of dispatch ("mode:traces"). */
  private readonly clocks = new Map<string, StepClock>();
  private logitsPending = false;
  /** Row of the logits buffer with the pending logits. */
  private pendingRow = 0;
  private generated = 0;
  private readonly guard = new CallGuard();

  constructor(
    private readonly ctx: GpuContext,
    readonly config: ModelConfig,
    params: ParameterMap,
    readonly batch: number,
    options: GeneratorOptions,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new ShapeError(`generator: batch = ${batch} must be a positive integer`);
    const device = ctx.device;
    const { lanes, subgroups: useSubgroups } = chooseLanes(ctx, config.dModel, options.subgroups ?? true);
    const streams = options.streamsPerWorkgroup ?? 1;
    if (!Number.isInteger(streams) || streams < 1 || batch % streams !== 0) {
      throw new ShapeError(`generator: streamsPerWorkgroup = ${streams} must divide the batch of ${batch}`);
    }

    this.layout = planWeightLayout(config, lanes, ctx.limits.maxTextureDimension2D);
    checkLanes(this.layout, lanes);
    this.V = config.vocabSize;
    this.DI = innerWidth(config);
    this.workgroups = batch / streams;
    if (this.workgroups > ctx.limits.maxComputeWorkgroupsPerDimension) {
      throw new ShapeError(`generator: ${this.workgroups} workgroups exceed ${ctx.limits.maxComputeWorkgroupsPerDimension}; raise streamsPerWorkgroup`);
    }

    const probe = this.buildKernel(false, lanes, streams, useSubgroups);
    if (probe.workgroupBytes > ctx.limits.maxComputeWorkgroupStorageSize) {
      throw new ShapeError(
        `generator: the kernel without subgroups needs ${probe.workgroupBytes} bytes of workgroup memory, over this ` +
          `device's ${ctx.limits.maxComputeWorkgroupStorageSize}; use a model with a smaller dModel.`,
      );
    }
    const loopBound = Math.floor(LOOP_ITERATION_LIMIT / probe.loopIterationsPerStep) - 1;
    const stepsPerDispatch = Math.max(1, Math.min(options.maxStepsPerDispatch ?? DEFAULT_STEPS_PER_DISPATCH, loopBound));

    // Weights: one texture, uploaded once.
    const { width, height } = this.layout;
    this.texture = device.createTexture({
      label: 'generator weights',
      size: [width, height],
      format: 'rgba32float',
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    device.queue.writeTexture({ texture: this.texture }, packWeights(config, params, this.layout), { bytesPerRow: width * 16, rowsPerImage: height }, [width, height]);
    this.textureView = this.texture.createView({ label: 'generator weights' });

    this.paramsBuffer = ctx.createBuffer('generator params', PARAMS_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.layerTable = ctx.createBuffer('generator layer table', 32 * config.nLayers, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(this.layerTable, 0, layerTableData(this.layout));

    const { NP, VP } = this.layout;
    this.ssm = ctx.createBuffer('generator SSM state', batch * config.nLayers * this.DI * NP * 4, storageUsage());
    this.conv = ctx.createBuffer('generator conv state', batch * config.nLayers * this.DI * convStride(this.layout) * 4, storageUsage());
    this.inputs = this.createStepBuffer('generator inputs', 1, batch, storageUsage());
    this.codes = this.createStepBuffer('generator codes', 1, batch, storageUsage());
    // Two rows at least: generate() alternates between them.
    this.logits = this.createStepBuffer('generator logits', 2, batch * VP, storageUsage());

    this.info = {
      lanes,
      streamsPerWorkgroup: streams,
      subgroups: useSubgroups,
      maxStepsPerDispatch: stepsPerDispatch,
      loopIterationsPerStep: probe.loopIterationsPerStep,
      textureBytes: width * height * 16,
      layout: this.layout,
    };
    this.reset();
  }

  // --- public API ----------------------------------------------------------------------

  reset(): void {
    this.guard.check();
    const queue = this.ctx.device.queue;
    queue.writeBuffer(this.ssm, 0, new Uint8Array(this.ssm.size));
    queue.writeBuffer(this.conv, 0, new Uint8Array(this.conv.size));
    this.logitsPending = false;
    this.generated = 0;
  }

  setState(layers: LayerState[], options: { logits?: Float32Array } = {}): void {
    this.guard.check();
    const { nLayers } = this.config;
    const { N, NP, K, VP } = this.layout;
    const KS = convStride(this.layout);
    const { DI, batch: B, V } = this;
    if (layers.length !== nLayers) throw new ShapeError(`setState: ${layers.length} layer states for a model of ${nLayers} layers`);
    const ssm = new Float32Array(B * nLayers * DI * NP);
    const conv = new Float32Array(B * nLayers * DI * KS);
    layers.forEach((state, layer) => {
      if (state.ssm.length !== B * DI * N) throw new ShapeError(`setState: layer ${layer} SSM state has ${state.ssm.length} values, expected (B, DI, N) = ${B * DI * N}`);
      if (state.conv.length !== B * DI * K) throw new ShapeError(`setState: layer ${layer} conv state has ${state.conv.length} values, expected (B, DI, K) = ${B * DI * K}`);
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < DI; d++) {
          const source = (b * DI + d) * N;
          ssm.set(state.ssm.subarray(source, source + N), ((b * nLayers + layer) * DI + d) * NP);
          const convSource = (b * DI + d) * K;
          conv.set(state.conv.subarray(convSource, convSource + K), ((b * nLayers + layer) * DI + d) * KS);
        }
      }
    });
    const queue = this.ctx.device.queue;
    queue.writeBuffer(this.ssm, 0, ssm);
    queue.writeBuffer(this.conv, 0, conv);

    if (options.logits) {
      if (options.logits.length !== B * V) throw new ShapeError(`setState: logits have ${options.logits.length} values, expected (B, V) = ${B * V}`);
      const row = new Float32Array(B * VP).fill(-3.0e38);
      for (let b = 0; b < B; b++) row.set(options.logits.subarray(b * V, (b + 1) * V), b * VP);
      queue.writeBuffer(this.logits.buffer, 0, row);
    }
    this.logitsPending = options.logits !== undefined;
    this.pendingRow = 0;
    this.generated = 0;
  }

  async getState(): Promise<LayerState[]> {
    this.guard.check();
    await this.drain();
    const { nLayers } = this.config;
    const { N, NP, K } = this.layout;
    const KS = convStride(this.layout);
    const { DI, batch: B } = this;
    const ssm = await this.ctx.read(this.asTensor(this.ssm, 'generator SSM state'));
    const conv = await this.ctx.read(this.asTensor(this.conv, 'generator conv state'));
    return Array.from({ length: nLayers }, (_, layer) => {
      const state: LayerState = { ssm: new Float32Array(B * DI * N), conv: new Float32Array(B * DI * K) };
      for (let b = 0; b < B; b++) {
        for (let d = 0; d < DI; d++) {
          const source = ((b * nLayers + layer) * DI + d) * NP;
          state.ssm.set(ssm.subarray(source, source + N), (b * DI + d) * N);
          const convSource = ((b * nLayers + layer) * DI + d) * KS;
          state.conv.set(conv.subarray(convSource, convSource + K), (b * DI + d) * K);
        }
      }
      return state;
    });
  }

  async step(inputCodes: ArrayLike<number>): Promise<Float32Array> {
    return this.guard.exclusive(async () => {
      const { batch: B, V } = this;
      if (inputCodes.length % B !== 0 || inputCodes.length === 0) {
        throw new ShapeError(`step: ${inputCodes.length} codes is not a positive multiple of the batch of ${B}`);
      }
      const codes = Uint32Array.from(inputCodes, (code, i) => {
        if (!Number.isInteger(code) || code < 0 || code >= V) throw new RangeError(`step: code ${code} at index ${i} is outside 0..${V - 1}`);
        return code;
      });
      const L = codes.length / B;
      const VP = this.layout.VP;
      const result = new Float32Array(L * B * V);
      this.ctx.submit();
      for (let start = 0; start < L; start += STEP_PIECE) {
        const count = Math.min(STEP_PIECE, L - start);
        this.inputs = this.ensureSteps(this.inputs, count, 'generator inputs', B, storageUsage());
        this.logits = this.ensureSteps(this.logits, count, 'generator logits', B * VP, storageUsage());
        this.ctx.device.queue.writeBuffer(this.inputs.buffer, 0, codes, start * B, count * B);
        for (let done = 0; done < count; ) {
          const steps = this.clock(1, false).stepsFor(Math.min(this.info.maxStepsPerDispatch, count - done));
          await this.runSteps(false, { mode: 1, stepBegin: done, steps, counter: this.generated });
          done += steps;
        }
        this.pendingRow = count - 1;
        this.staging.logits = this.ensureSteps(this.staging.logits, count, 'generator logits read-back', B * VP, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
        const bytes = count * B * VP * 4;
        this.copyAndSubmit([[this.logits.buffer, this.staging.logits.buffer, bytes]]);
        const rows = new Float32Array(await this.mapRead(this.staging.logits.buffer, bytes));
        for (let row = 0; row < count * B; row++) result.set(rows.subarray(row * VP, row * VP + V), (start * B + row) * V);
      }
      this.logitsPending = true;
      return result;
    });
  }

  async generate(options: GenerateOptions): Promise<GenerateResult> {
    validateGenerateOptions(options);
    const { samples, chunkSamples } = options;
    const startCode = options.startCode ?? Math.floor(this.V / 2);
    if (!this.logitsPending) await this.step(new Array(this.batch).fill(startCode));

    return this.guard.exclusive(async () => {
      const traces = options.traces ?? false;
      const { batch: B, DI } = this;
      const L = this.config.nLayers;
      const capacity = Math.min(chunkSamples, Math.max(samples, 1));
      this.codes = this.ensureSteps(this.codes, capacity, 'generator codes', B, storageUsage());
      if (traces) {
        const traceBytes = 3 * L * capacity * B * DI * 4;
        if (traceBytes > this.ctx.limits.maxStorageBufferBindingSize) {
          throw new ShapeError(
            `generate: traces of ${capacity} samples x ${B} streams need ${traceBytes} bytes, over the ` +
              `${this.ctx.limits.maxStorageBufferBindingSize}-byte binding limit. Use a smaller chunkSamples.`,
          );
        }
        this.traces = this.ensureSteps(this.traces, capacity, 'generator traces', 3 * L * B * DI, storageUsage());
      }
      this.ctx.submit();

      let delivered = 0;
      let aborted = false;
      // A chunk whose codes are copied to staging, handed over while the next dispatch runs.
      let handOver: (() => Promise<void>) | null = null;
      for (let chunk = 0, start = 0; start < samples && !aborted; chunk++, start += capacity) {
        const length = Math.min(capacity, samples - start);
        let done = 0;
        while (done < length) {
          if (options.signal?.aborted) {
            aborted = true;
            break;
          }
          const clock = this.clock(0, traces);
          const steps = clock.stepsFor(Math.min(this.info.maxStepsPerDispatch, length - done));
          const submittedAt = this.submitSteps(traces, {
            mode: 0,
            stepBegin: done,
            steps,
            counter: this.generated + done,
            seed: options.seed,
            temperature: options.temperature,
            topP: options.topP,
            traceSteps: capacity,
            pendingRow: this.pendingRow,
          });
          done += steps;
          this.pendingRow = (done - 1) & 1;
          const delivering = handOver !== null;
          if (handOver) {
            await handOver();
            handOver = null;
          }
          const wait = await waitForQueue(this.ctx.device.queue, submittedAt, clock.expectedMs(steps));
          // A hand-over ran the caller's code in between, so this wait does not time the GPU.
          if (!delivering) this.record(clock, traces, steps, wait);
        }
        if (done > 0) {
          this.generated += done;
          handOver = this.copyChunk(chunk % 2, done, capacity, start, traces, options.onChunk);
          delivered += done;
        }
      }
      if (handOver) await handOver();
      return { samples: delivered, aborted };
    });
  }

  async warmUp(options: { traces?: boolean } = {}): Promise<number> {
    return this.guard.exclusive(async () => {
      const started = performance.now();
      this.ctx.submit();
      // Zero steps: the kernel does nothing, but lavapipe compiles it at this first use.
      await this.runSteps(options.traces ?? false, { mode: 1, steps: 0, counter: this.generated });
      await this.drain();
      return performance.now() - started;
    });
  }

  destroy(): void {
    if (!this.guard.destroy()) return;
    const buffers = [this.paramsBuffer, this.layerTable, this.ssm, this.conv, this.inputs.buffer, this.codes.buffer, this.logits.buffer];
    if (this.traces) buffers.push(this.traces.buffer);
    for (const staged of [...this.staging.codes, ...this.staging.traces]) buffers.push(staged.buffer);
    if (this.staging.logits) buffers.push(this.staging.logits.buffer);
    for (const buffer of buffers) this.ctx.destroyBuffer(buffer);
    this.texture.destroy();
    this.variants.clear();
  }

  // --- dispatch ------------------------------------------------------------------------

  private buildKernel(traces: boolean, lanes: number, streams: number, subgroups: boolean): GeneratedKernel {
    return buildGenerateKernel({
      layout: this.layout,
      nLayers: this.config.nLayers,
      rmsNormEps: this.config.rmsNormEps,
      lanes,
      streams,
      traces,
      subgroups,
    });
  }

  private variant(traces: boolean): Variant {
    let variant = this.variants.get(traces);
    if (!variant) {
      const kernel = this.buildKernel(traces, this.info.lanes, this.info.streamsPerWorkgroup, this.info.subgroups);
      const pipeline = this.ctx.pipeline({ label: kernel.label, source: kernel.source });
      variant = { kernel, pipeline, compiled: false, bindGroup: null, bindGroupVersion: -1 };
      this.variants.set(traces, variant);
    }
    if (variant.bindGroupVersion !== this.bindGroupVersion) {
      const buffer = (binding: number, target: GPUBuffer): GPUBindGroupEntry => ({ binding, resource: { buffer: target } });
      const entries: GPUBindGroupEntry[] = [
        buffer(BINDING.params, this.paramsBuffer),
        buffer(BINDING.layerTable, this.layerTable),
        { binding: BINDING.weights, resource: this.textureView },
        buffer(BINDING.ssm, this.ssm),
        buffer(BINDING.conv, this.conv),
        buffer(BINDING.inputs, this.inputs.buffer),
        buffer(BINDING.codes, this.codes.buffer),
        buffer(BINDING.logits, this.logits.buffer),
      ];
      if (traces) {
        this.traces = this.ensureSteps(this.traces, 1, 'generator traces', 3 * this.config.nLayers * this.batch * this.DI, storageUsage());
        entries.push(buffer(BINDING.traces, this.traces.buffer));
      }
      variant.bindGroup = this.ctx.device.createBindGroup({ label: variant.kernel.label, layout: variant.pipeline.getBindGroupLayout(0), entries });
      variant.bindGroupVersion = this.bindGroupVersion;
    }
    return variant;
  }

  private clock(mode: number, traces: boolean): StepClock {
    const key = `${mode}:${traces}`;
    let clock = this.clocks.get(key);
    if (!clock) {
      clock = new StepClock();
      this.clocks.set(key, clock);
    }
    return clock;
  }

  /** Submits one dispatch of `args.steps` steps and returns when it was submitted (performance.now()). */
  private submitSteps(traces: boolean, args: DispatchArgs): number {
    const variant = this.variant(traces);
    const params = new DataView(new ArrayBuffer(PARAMS_BYTES));
    params.setUint32(0, this.batch, true);
    params.setUint32(4, args.mode, true);
    params.setUint32(8, args.stepBegin ?? 0, true);
    params.setUint32(12, args.steps, true);
    params.setUint32(16, args.counter >>> 0, true);
    params.setUint32(20, args.seed ?? 0, true);
    params.setFloat32(24, args.temperature ?? 1, true);
    params.setFloat32(28, args.topP ?? 1, true);
    params.setUint32(32, args.traceSteps ?? 1, true);
    params.setUint32(36, args.pendingRow ?? 0, true);
    const device = this.ctx.device;
    // Ordered after every earlier submit, so rewriting the one params buffer is safe.
    device.queue.writeBuffer(this.paramsBuffer, 0, params.buffer);
    const encoder = device.createCommandEncoder({ label: 'generator steps' });
    const pass = encoder.beginComputePass({ label: 'generator steps' });
    pass.setPipeline(variant.pipeline);
    pass.setBindGroup(0, variant.bindGroup);
    pass.dispatchWorkgroups(this.workgroups);
    pass.end();
    device.queue.submit([encoder.finish()]);
    return performance.now();
  }

  /** Submits one dispatch and waits for it, recording its duration. */
  private async runSteps(traces: boolean, args: DispatchArgs): Promise<void> {
    const clock = this.clock(args.mode, traces);
    const submittedAt = this.submitSteps(traces, args);
    const wait = await waitForQueue(this.ctx.device.queue, submittedAt, clock.expectedMs(args.steps));
    this.record(clock, traces, args.steps, wait);
  }

  private record(clock: StepClock, traces: boolean, steps: number, wait: QueueWait): void {
    const variant = this.variant(traces);
    if (variant.compiled) clock.record(steps, wait);
    variant.compiled = true;
  }

  private async drain(): Promise<void> {
    this.ctx.submit();
    await this.ctx.device.queue.onSubmittedWorkDone();
  }

  // --- read-back -----------------------------------------------------------------------

  private copyAndSubmit(copies: Array<[GPUBuffer, GPUBuffer, number]>): void {
    const encoder = this.ctx.device.createCommandEncoder({ label: 'generator read-back' });
    for (const [source, target, bytes] of copies) encoder.copyBufferToBuffer(source, 0, target, 0, Math.ceil(bytes / 4) * 4);
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  private async mapRead(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    await buffer.mapAsync(GPUMapMode.READ, 0, Math.ceil(bytes / 4) * 4);
    try {
      return buffer.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    } finally {
      buffer.unmap();
    }
  }

  /** Copies a chunk's codes (and traces) to staging slot `slot` now; returns the hand-over that maps and delivers them. */
  private copyChunk(
    slot: number,
    length: number,
    capacity: number,
    start: number,
    traces: boolean,
    onChunk: GenerateOptions['onChunk'],
  ): () => Promise<void> {
    const { batch: B, DI, V } = this;
    const L = this.config.nLayers;
    const readUsage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.staging.codes[slot] = this.ensureSteps(this.staging.codes[slot] ?? null, capacity, `generator codes read-back ${slot}`, B, readUsage);
    const codeBytes = length * B * 4;
    const copies: Array<[GPUBuffer, GPUBuffer, number]> = [[this.codes.buffer, this.staging.codes[slot].buffer, codeBytes]];
    const traceBytes = 3 * L * capacity * B * DI * 4;
    if (traces) {
      this.staging.traces[slot] = this.ensureSteps(this.staging.traces[slot] ?? null, capacity, `generator traces read-back ${slot}`, 3 * L * B * DI, readUsage);
      copies.push([this.traces!.buffer, this.staging.traces[slot].buffer, traceBytes]);
    }
    this.copyAndSubmit(copies);
    const codeStaging = this.staging.codes[slot].buffer;
    const traceStaging = traces ? this.staging.traces[slot].buffer : null;

    return async () => {
      const flat = new Uint32Array(await this.mapRead(codeStaging, codeBytes));
      const perStream: CodeArray[] = Array.from({ length: B }, () => (V <= 256 ? new Uint8Array(length) : new Uint32Array(length)));
      for (let t = 0; t < length; t++) for (let b = 0; b < B; b++) perStream[b][t] = flat[t * B + b];

      let chunkTraces: ChunkTraces | undefined;
      if (traceStaging) {
        const all = new Float32Array(await this.mapRead(traceStaging, traceBytes));
        const slice = (kind: number, layer: number) => {
          const offset = (kind * L + layer) * capacity * B * DI;
          return all.slice(offset, offset + length * B * DI);
        };
        const layers = Array.from({ length: L }, (_, layer) => layer);
        chunkTraces = {
          delta: layers.map((layer) => slice(0, layer)),
          gate: layers.map((layer) => slice(1, layer)),
          stateNorm: layers.map((layer) => slice(2, layer)),
        };
      }
      await onChunk(perStream, start, chunkTraces);
    };
  }

  // --- buffers -------------------------------------------------------------------------

  private createStepBuffer(label: string, steps: number, elementsPerStep: number, usage: GPUBufferUsageFlags): StepBuffer {
    return { buffer: this.ctx.createBuffer(label, steps * elementsPerStep * 4, usage), steps };
  }

  /** Returns `current` if it has room for `steps` steps, else a larger replacement (the old one destroyed). */
  private ensureSteps(current: StepBuffer | null, steps: number, label: string, elementsPerStep: number, usage: GPUBufferUsageFlags): StepBuffer {
    if (current && current.steps >= steps) return current;
    if (current) this.ctx.destroyBuffer(current.buffer);
    if (usage & GPUBufferUsage.STORAGE) this.bindGroupVersion++;
    return this.createStepBuffer(label, steps, elementsPerStep, usage);
  }

  private asTensor(buffer: GPUBuffer, label: string): Tensor {
    return { buffer, shape: [buffer.size / 4], byteOffset: 0, label };
  }
}

/** Uploads the weights and allocates the states of a generator for `options.batch` streams. */
export function createGenerator(ctx: GpuContext, config: ModelConfig, params: ParameterMap, options: GeneratorOptions): Generator {
  requireFlatBackbone(config, 'createGenerator (the fused generation kernel)');
  return new GpuGenerator(ctx, config, params, options.batch, options);
}
