// Recurrent generation for SaShiMi U-Net models on the GPU, with the semantics of the flat
// generator (generator.ts): pending logits, step() for teacher forcing, generate() with
// sampling on the GPU, draws numbered by the samples generated since reset(), chunks
// streamed to the caller, and memory that does not grow with the number of samples.
//
// Each sample is a sequence of dispatches that the CPU records: the sampler, then one
// fused StageKernel dispatch per stage that steps (stage-kernel.ts: every block of the
// stage in one kernel), with the pooling linear layers between levels. The top level's
// first stage also embeds the codes, every down stage also fills its level's pooling
// buffers, and the top level's last stage also computes the logits, so a sample at the
// top level alone is three dispatches. The level schedule is that of reference/sashimi.ts
// (sashimiStep): level s + 1 steps only on the samples where level s's down buffer fills,
// every p_s samples.
//
// The per-kernel path records each block as the engine's own kernels instead: RMSNorm,
// in_proj, conv1d_step, x_proj, dt_proj, a one-step scan that continues from the saved SSM
// state, out_proj and the residual add. It runs while generate() records traces, and when
// the stage kernel cannot run at all (dState or dConv not a multiple of 4). It works on
// views of the stage kernels' states, so both paths continue the same recurrence.
import { ShapeError, type GpuContext, type Tensor } from '../context';
import { encodeConv1dStep } from '../kernels/conv1d_step';
import { encodeElementwise } from '../kernels/elementwise';
import { encodeSampleLogits } from '../kernels/sample_logits';
import { encodeScanForward, encodeScanPack } from '../kernels/scan';
import { blockParameterNames, EMBEDDING, FINAL_NORM, HEAD, parameterSpecs, type BackboneBlock, type ModelConfig } from '../model/config';
import { uploadParameters } from '../model/activations';
import type { ParameterMap } from '../model/init';
import * as ops from '../model/ops';
import { poolParameterNames, sashimiLevels, sashimiStageList, stageBlocks, type SashimiLevel, type SashimiStage } from '../model/sashimi-config';
import type { SashimiState } from '../reference/sashimi';
import type { LayerState } from '../reference/step';
import type { BackboneGenerator } from './backbone';
import { selectivityOf } from '../model/sashimi-capture';
import { validateGenerateOptions, type ChunkTraces, type CodeArray, type GenerateOptions, type GenerateResult } from './generator';
import { CallGuard } from './call-guard';
import { StageKernel, type StageKernelIo } from './stage-kernel';

/** Samples recorded between two waits on the GPU, which bounds how far the CPU runs ahead. */
const SAMPLES_PER_SUBMIT = 32;
/** Teacher-forced steps per logits read-back in step(). */
const STEP_PIECE = 256;

/** Recurrent state and weights of one block. */
interface BlockState {
  block: BackboneBlock;
  /** Level of the block's stage. */
  level: number;
  conv: Tensor;
  /** (1, B, DI, N): the scan's single state slot. */
  ssm: Tensor;
  /** (DI, N + 2): [A | D | delta bias], packed once. */
  channel: Tensor;
}

/** Per-level tensors of one step, (B, ...). Blocks of a level reuse the scratch in turn. */
interface LevelTensors {
  level: SashimiLevel;
  /** Residual stream entering the level (and the down blocks' output, the skip). */
  x: Tensor;
  /** Residual stream of the up stage: UpPool output plus skip. */
  upStream: Tensor | null;
  /** (B, p * D_s): inputs collected for the next pooled step. */
  downBuffer: Tensor | null;
  /** (B, p * D_s): UpPool's outputs for the current pooled step. */
  upBuffer: Tensor | null;
  normed: Tensor;
  rstd: Tensor;
  xz: Tensor;
  u: Tensor;
  xDbl: Tensor;
  delta: Tensor;
  y: Tensor;
  blockOut: Tensor;
  /** (B, DI): ||h|| after this step, written only while generate() records traces. */
  stateNorm: Tensor | null;
}

/**
 * Traces of one chunk per block, each (capacity rows, TRACE_PARTS * B * DI): row k contains
 * the raw dt_proj output (B, DI), in_proj's [x | z] (B, 2 DI) and ||h|| (B, DI) of the
 * block's k-th step in the chunk.
 */
const TRACE_PARTS = 4;

export class SashimiGenerator implements BackboneGenerator {
  private readonly params = new Map<string, Tensor>();
  private readonly levels: SashimiLevel[];
  private readonly stages: { down: SashimiStage[]; center: SashimiStage; up: SashimiStage[] };
  private readonly blockStates: BlockState[];
  /** One fused kernel per stage, when StageKernel.supports the config; empty otherwise. */
  private readonly stageKernels = new Map<SashimiStage, StageKernel>();
  /** Whether the top level's last stage kernel computes the logits itself. */
  private headFused = false;
  private readonly tensors: LevelTensors[];
  private readonly V: number;
  /** Code fed at the current step, (B) u32. */
  private readonly current: Tensor;
  private readonly finalNormed: Tensor;
  private readonly finalRstd: Tensor;
  /** Logits of the last step, (B, V): the pending logits. */
  private readonly logits: Tensor;
  private readonly workspace: ops.OpsWorkspace;
  private stepInputs: Tensor | null = null;
  private stepLogits: Tensor | null = null;
  private chunkCodes: Tensor | null = null;
  /** Per block, the chunk's traces (see TRACE_PARTS); null until generate() records traces. */
  private traceBuffers: Tensor[] | null = null;
  /** While generate() records traces: per level, the chunk-relative sample index of each step taken in the chunk. */
  private traceSteps: number[][] | null = null;
  /** Chunk-relative index of the sample being fed, while traces are recorded. */
  private traceSample = 0;
  /** Samples consumed since reset(): the step counter of level 0. */
  private time = 0;
  private generated = 0;
  private logitsPending = false;
  private readonly guard = new CallGuard();

  constructor(
    private readonly ctx: GpuContext,
    readonly config: ModelConfig,
    values: ParameterMap,
    readonly batch: number,
  ) {
    if (config.backbone !== 'sashimi') throw new Error('SashimiGenerator: the config\'s backbone is not "sashimi"; use createGenerator for a flat stack');
    if (!Number.isInteger(batch) || batch < 1) throw new ShapeError(`SashimiGenerator: batch = ${batch} must be a positive integer`);
    this.V = config.vocabSize;
    this.levels = sashimiLevels(config);
    const stages = sashimiStageList(config);
    this.stages = {
      down: stages.filter((stage) => stage.kind === 'down'),
      center: stages.find((stage) => stage.kind === 'center')!,
      up: stages.filter((stage) => stage.kind === 'up').reverse(),
    };
    uploadParameters(ctx, 'SashimiGenerator', parameterSpecs(config), values, this.params);
    const { dState: N, dConv: K } = config;
    this.tensors = this.levels.map((level) => this.allocateLevel(level));
    this.current = ctx.tensor('generator current codes', [batch]);
    this.finalNormed = ctx.tensor('generator final normed', [batch, config.dModel]);
    this.finalRstd = ctx.tensor('generator final rstd', [batch]);
    this.logits = ctx.tensor('generator logits', [batch, this.V]);
    // The fused stage kernels own the states; the per-kernel path works on views of them.
    if (StageKernel.supports(config)) {
      // The head writes whole vec4s per lane, so it can fill the logits tensor only when V needs no padding.
      this.headFused = StageKernel.paddedVocab(ctx, config) === this.V;
      for (const stage of stages) this.stageKernels.set(stage, new StageKernel(ctx, config, stage, values, batch, this.stageIo(stage)));
    }
    this.blockStates = stages.flatMap((stage) =>
      stageBlocks(stage).map((block, indexInStage) => {
        const DI = config.expand * block.dModel;
        const names = blockParameterNames(block.prefix);
        const channel = ctx.tensor(`${block.prefix} channel parameters`, [DI, N + 2]);
        encodeScanPack(ctx, { DI, N, aLog: this.param(names.aLog), D: this.param(names.D), deltaBias: this.param(names.dtProjBias), channel });
        const shared = this.stageKernels.get(stage)?.blockStates[indexInStage];
        return {
          block,
          level: stage.level,
          conv: shared?.conv ?? ctx.tensor(`${block.prefix} conv state`, [batch, DI, K]),
          ssm: shared?.ssm ?? ctx.tensor(`${block.prefix} SSM state`, [1, batch, DI, N]),
          channel,
        };
      }),
    );
    this.workspace = ops.createWorkspace(ctx);
    this.reset();
  }

  /**
   * Returns the parts a stage's fused kernel runs besides its blocks: the top level's first stage
   * embeds the codes, down stages fill their level's pooling buffers, and the top level's
   * last stage ends in the head when headFused.
   */
  private stageIo(stage: SashimiStage): StageKernelIo {
    const top = stage.level === 0;
    const first = top && (stage.kind === 'down' || this.levels.length === 1);
    const last = top && (stage.kind === 'up' || this.levels.length === 1);
    const level = this.tensors[stage.level];
    return {
      codes: first ? this.current : undefined,
      pool: stage.kind === 'down' ? { factor: this.levels[stage.level].pool, down: level.downBuffer!, up: level.upBuffer! } : undefined,
      logits: last && this.headFused ? this.logits : undefined,
    };
  }

  private param(name: string): Tensor {
    const tensor = this.params.get(name);
    if (!tensor) throw new Error(`SashimiGenerator: parameter ${name} is missing`);
    return tensor;
  }

  private allocateLevel(level: SashimiLevel): LevelTensors {
    const { ctx, config, batch: B } = this;
    const D = level.dModel;
    const DI = config.expand * D;
    const width = config.dtRank + 2 * config.dState;
    const name = (part: string) => `generator level ${level.level} ${part}`;
    const pooled = level.pool > 0;
    return {
      level,
      x: ctx.tensor(name('x'), [B, D]),
      upStream: pooled ? ctx.tensor(name('up stream'), [B, D]) : null,
      downBuffer: pooled ? ctx.tensor(name('down buffer'), [B, level.pool * D]) : null,
      upBuffer: pooled ? ctx.tensor(name('up buffer'), [B, level.pool * D]) : null,
      normed: ctx.tensor(name('normed'), [B, D]),
      rstd: ctx.tensor(name('rstd'), [B]),
      xz: ctx.tensor(name('xz'), [B, 2 * DI]),
      u: ctx.tensor(name('u'), [B, DI]),
      xDbl: ctx.tensor(name('x_dbl'), [B, width]),
      delta: ctx.tensor(name('delta'), [B, DI]),
      y: ctx.tensor(name('y'), [B, DI]),
      blockOut: ctx.tensor(name('block output'), [B, D]),
      stateNorm: null,
    };
  }

  // --- public API ----------------------------------------------------------------------

  /** Zeroes every state and buffer, so the next generate() starts by feeding startCode. */
  reset(): void {
    this.guard.check();
    for (const state of this.blockStates) {
      this.ctx.clear(state.conv);
      this.ctx.clear(state.ssm);
    }
    for (const level of this.tensors) {
      if (level.downBuffer) this.ctx.clear(level.downBuffer);
      if (level.upBuffer) this.ctx.clear(level.upBuffer);
    }
    this.ctx.submit();
    this.time = 0;
    this.generated = 0;
    this.logitsPending = false;
  }

  /**
   * Loads a state in reference/sashimi.ts's SashimiState layouts, for example one that
   * SashimiLM.prefill computed with the parallel forward. With `logits` (B, V), the next
   * generate() samples from them; without, it starts by feeding startCode. Draws are then
   * numbered from 0, as after reset().
   */
  setState(state: SashimiState, options: { logits?: Float32Array } = {}): void {
    this.guard.check();
    const { ctx, config, batch: B, V } = this;
    const { dState: N, dConv: K } = config;
    if (!Number.isInteger(state.time) || state.time < 0) throw new RangeError(`setState: time = ${state.time} must be a non-negative integer`);
    if (state.blocks.length !== this.blockStates.length) throw new ShapeError(`setState: ${state.blocks.length} block states for a model of ${this.blockStates.length} blocks`);
    // ctx.write lands before work recorded but not yet submitted, so submit that first.
    ctx.submit();
    const checked = (values: Float32Array, count: number, name: string, layout: string) => {
      if (values.length !== count) throw new ShapeError(`setState: ${name} has ${values.length} values, expected ${layout} = ${count}`);
      return values;
    };
    this.blockStates.forEach((target, i) => {
      const DI = config.expand * target.block.dModel;
      ctx.write(target.conv, checked(state.blocks[i].conv, B * DI * K, `block ${i} conv state`, '(B, DI, K)'));
      ctx.write(target.ssm, checked(state.blocks[i].ssm, B * DI * N, `block ${i} SSM state`, '(B, DI, N)'));
    });
    this.tensors.slice(0, -1).forEach((level, s) => {
      const count = B * level.level.pool * level.level.dModel;
      ctx.write(level.downBuffer!, checked(state.down[s], count, `level ${s} down buffer`, '(B, p D)'));
      ctx.write(level.upBuffer!, checked(state.up[s], count, `level ${s} up buffer`, '(B, p D)'));
    });
    if (options.logits) ctx.write(this.logits, checked(options.logits, B * V, 'logits', '(B, V)'));
    this.time = state.time;
    this.generated = 0;
    this.logitsPending = options.logits !== undefined;
  }

  /** Reads the state back in SashimiState's layouts. */
  async getState(): Promise<SashimiState> {
    this.guard.check();
    const { ctx } = this;
    const blocks: LayerState[] = [];
    for (const state of this.blockStates) blocks.push({ conv: await ctx.read(state.conv), ssm: await ctx.read(state.ssm) });
    const down: Float32Array[] = [];
    const up: Float32Array[] = [];
    for (const level of this.tensors.slice(0, -1)) {
      down.push(await ctx.read(level.downBuffer!));
      up.push(await ctx.read(level.upBuffer!));
    }
    return { blocks, down, up, time: this.time };
  }

  /** Feeds codes (L, B) time-major, index t * B + b, and returns their logits (L, B, V). */
  async step(inputCodes: ArrayLike<number>): Promise<Float32Array> {
    return this.guard.exclusive(async () => {
      const { batch: B, V, ctx } = this;
      if (inputCodes.length % B !== 0 || inputCodes.length === 0) {
        throw new ShapeError(`step: ${inputCodes.length} codes is not a positive multiple of the batch of ${B}`);
      }
      const codes = Uint32Array.from(inputCodes, (code, i) => {
        if (!Number.isInteger(code) || code < 0 || code >= V) throw new RangeError(`step: code ${code} at index ${i} is outside 0..${V - 1}`);
        return code;
      });
      const L = codes.length / B;
      const result = new Float32Array(L * B * V);
      for (let start = 0; start < L; start += STEP_PIECE) {
        const count = Math.min(STEP_PIECE, L - start);
        this.stepInputs = this.ensureTensor(this.stepInputs, 'generator step inputs', STEP_PIECE * B);
        this.stepLogits = this.ensureTensor(this.stepLogits, 'generator step logits', STEP_PIECE * B * V);
        ctx.write(this.stepInputs, codes.subarray(start * B, (start + count) * B));
        for (let t = 0; t < count; t++) {
          ctx.copy(rowsOf(this.stepInputs, t * B, B), this.current);
          this.encodeModelStep();
          ctx.copy(this.logits, rowsOf(this.stepLogits, t * B * V, B * V));
          if ((t + 1) % SAMPLES_PER_SUBMIT === 0) await ctx.finish();
        }
        result.set(await ctx.read(this.stepLogits, 0, count * B * V), start * B * V);
      }
      this.logitsPending = true;
      return result;
    });
  }

  /** Samples from the pending logits, feeds each sample back, and hands over chunks of codes. */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    validateGenerateOptions(options);
    const { samples, chunkSamples } = options;
    const startCode = options.startCode ?? Math.floor(this.V / 2);
    if (!this.logitsPending) await this.step(new Array(this.batch).fill(startCode));

    return this.guard.exclusive(async () => {
      const { ctx, batch: B, V } = this;
      const capacity = Math.min(chunkSamples, Math.max(samples, 1));
      this.chunkCodes = this.ensureTensor(this.chunkCodes, 'generator chunk codes', capacity * B);
      if (options.traces) this.allocateTraces(capacity);
      let delivered = 0;
      let aborted = false;
      // Work done before the last submit, awaited after the next one so that the GPU always has work.
      let previous: Promise<void> | null = null;
      for (let start = 0; start < samples && !aborted; start += capacity) {
        const length = Math.min(capacity, samples - start);
        let done = 0;
        this.traceSteps = options.traces ? this.levels.map(() => []) : null;
        while (done < length) {
          if (options.signal?.aborted) {
            aborted = true;
            break;
          }
          const steps = Math.min(SAMPLES_PER_SUBMIT, length - done);
          for (let i = 0; i < steps; i++) {
            this.traceSample = done + i;
            encodeSampleLogits(ctx, {
              B,
              V,
              logits: this.logits,
              current: this.current,
              codes: this.chunkCodes,
              outRow: done + i,
              counter: this.generated + done + i,
              seed: options.seed,
              temperature: options.temperature,
              topP: options.topP,
            });
            this.encodeModelStep();
          }
          ctx.submit();
          done += steps;
          if (previous) await previous;
          previous = ctx.device.queue.onSubmittedWorkDone();
        }
        if (done > 0) {
          this.generated += done;
          const flat = await ctx.readU32(this.chunkCodes, 0, done * B);
          const perStream: CodeArray[] = Array.from({ length: B }, () => (V <= 256 ? new Uint8Array(done) : new Uint32Array(done)));
          for (let t = 0; t < done; t++) for (let b = 0; b < B; b++) perStream[b][t] = flat[t * B + b];
          await options.onChunk(perStream, start, this.traceSteps ? await this.readTraces(this.traceSteps) : undefined);
          delivered += done;
        }
      }
      if (previous) await previous;
      return { samples: delivered, aborted };
    }).finally(() => {
      this.traceSteps = null;
    });
  }

  /** Allocates the per-block trace buffers for chunks of `capacity` samples, and each level's state-norm tensor. */
  private allocateTraces(capacity: number): void {
    const { ctx, config, batch: B } = this;
    for (const level of this.tensors) level.stateNorm ??= ctx.tensor(`generator level ${level.level.level} state norm`, [B, config.expand * level.level.dModel]);
    this.traceBuffers = this.blockStates.map((state, i) => {
      const rows = Math.ceil(capacity / this.levels[state.level].stride);
      const rowLength = TRACE_PARTS * B * config.expand * state.block.dModel;
      const current = this.traceBuffers?.[i] ?? null;
      return this.ensureTensor(current, `${state.block.prefix} generator traces`, rows * rowLength);
    });
  }

  /** Reads the traces of the chunk just delivered; see ChunkTraces for the layout. */
  private async readTraces(stepSamples: number[][]): Promise<ChunkTraces> {
    const { ctx, config, batch: B } = this;
    const traces: ChunkTraces = { delta: [], gate: [], stateNorm: [], stepSamples: [] };
    for (let i = 0; i < this.blockStates.length; i++) {
      const { block, level } = this.blockStates[i];
      const DI = config.expand * block.dModel;
      const rows = stepSamples[level].length;
      const rowLength = TRACE_PARTS * B * DI;
      const raw = await ctx.read(this.traceBuffers![i], 0, rows * rowLength);
      const bias = await ctx.read(this.param(blockParameterNames(block.prefix).dtProjBias));
      const delta = new Float32Array(rows * B * DI);
      const gate = new Float32Array(rows * B * DI);
      const stateNorm = new Float32Array(rows * B * DI);
      for (let row = 0; row < rows; row++) {
        const base = row * rowLength;
        const values = selectivityOf(raw.subarray(base, base + B * DI), bias, raw.subarray(base + B * DI, base + 3 * B * DI), 2 * DI, DI, B, DI);
        delta.set(values.delta, row * B * DI);
        gate.set(values.gate, row * B * DI);
        stateNorm.set(raw.subarray(base + 3 * B * DI, base + 4 * B * DI), row * B * DI);
      }
      traces.delta.push(delta);
      traces.gate.push(gate);
      traces.stateNorm.push(stateNorm);
      traces.stepSamples!.push(Uint32Array.from(stepSamples[level]));
    }
    return traces;
  }

  /** Runs one step from the start code, then resets, and returns the milliseconds taken (lavapipe compiles at first use). */
  async warmUp(): Promise<number> {
    const started = performance.now();
    await this.step(new Array(this.batch).fill(Math.floor(this.V / 2)));
    this.reset();
    return performance.now() - started;
  }

  /** Releases every buffer. The generator cannot be used afterwards. */
  destroy(): void {
    if (!this.guard.destroy()) return;
    const { ctx } = this;
    for (const tensor of this.params.values()) ctx.release(tensor);
    for (const state of this.blockStates) ctx.release(state.conv, state.ssm, state.channel);
    for (const kernel of this.stageKernels.values()) kernel.destroy();
    for (const level of this.tensors) {
      ctx.release(level.x, level.upStream, level.downBuffer, level.upBuffer, level.normed, level.rstd, level.xz, level.u, level.xDbl, level.delta, level.y, level.blockOut, level.stateNorm);
    }
    ctx.release(...(this.traceBuffers ?? []));
    ctx.release(this.current, this.finalNormed, this.finalRstd, this.logits, this.stepInputs, this.stepLogits, this.chunkCodes);
    this.workspace.destroy();
  }

  // --- one step --------------------------------------------------------------------

  /** Records one step of the model on the codes in `current`, with the logits landing in `logits`. */
  private encodeModelStep(): void {
    if (this.stageKernels.size > 0 && !this.traceSteps) {
      this.encodeFusedModelStep();
      return;
    }
    const { ctx, config, batch: B, V } = this;
    const D = config.dModel;
    ops.embeddingForward(ctx, { codes: this.current, table: this.param(EMBEDDING), out: this.tensors[0].x, rows: B, D, V });
    const out = this.encodeLevelStep(0, this.time);
    this.time++;
    this.encodeHead(out);
  }

  /** Records the final RMSNorm and the head on x (B, D), into `logits`. */
  private encodeHead(x: Tensor): void {
    const { ctx, config, batch: B, V } = this;
    const D = config.dModel;
    ops.rmsNormForward(ctx, { x, weight: this.param(FINAL_NORM), out: this.finalNormed, rstd: this.finalRstd, rows: B, D, eps: config.rmsNormEps });
    ops.linearForward(ctx, { x: ops.whole(this.finalNormed, D), weight: this.param(HEAD), y: ops.whole(this.logits, V), rows: B, inDim: D, outDim: V, workspace: this.workspace });
  }

  /**
   * Records encodeModelStep's step through the stage kernels alone. At the top level the
   * first stage embeds the codes and the last one ends in the head (when headFused), so
   * a sample takes two dispatches there, three with the sampler.
   */
  private encodeFusedModelStep(): void {
    const top = this.tensors[0];
    if (this.levels.length === 1) {
      const center = this.stageKernels.get(this.stages.center)!;
      center.encode(this.headFused ? null : top.x);
      if (!this.headFused) this.encodeHead(top.x);
    } else {
      // The first stage writes x plus the up buffer's column into upStream, where the last stage continues.
      this.encodeFusedLevelStep(0, this.time, top.upStream!);
      if (!this.headFused) this.encodeHead(top.upStream!);
    }
    this.time++;
  }

  /**
   * Records step number `time` of level s through its stage kernels on `x` (B, D_s), the
   * level's input (unless the level embeds codes), and returns the tensor with its output.
   */
  private encodeFusedLevelStep(s: number, time: number, x: Tensor): Tensor {
    const S = this.levels.length - 1;
    if (s === S) {
      this.stageKernels.get(this.stages.center)!.encode(x);
      return x;
    }
    const p = this.levels[s].pool;
    const j = time % p;
    const level = this.tensors[s];
    // In place: x becomes the skip plus UpPool's column j, and the skip goes to the down buffer.
    this.stageKernels.get(this.stages.down[s])!.encode(x, j);
    if (j === p - 1) {
      const inner = this.tensors[s + 1];
      this.encodePoolLinear('down', s, level.downBuffer!, inner.x);
      const innerOut = this.encodeFusedLevelStep(s + 1, Math.floor(time / p), inner.x);
      this.encodePoolLinear('up', s, innerOut, level.upBuffer!);
    }
    this.stageKernels.get(this.stages.up[s])!.encode(x);
    return x;
  }

  /** Records step number `time` of level s on its input in tensors[s].x, and returns the tensor with its output. */
  private encodeLevelStep(s: number, time: number): Tensor {
    const { ctx, batch: B } = this;
    const level = this.tensors[s];
    const S = this.levels.length - 1;
    // Both stages of a level write their traces to the row of this level step.
    const traceRow = this.traceSteps ? this.traceSteps[s].push(this.traceSample) - 1 : -1;
    if (s === S) {
      this.encodeStageStep(this.stages.center, level, level.x, traceRow);
      return level.x;
    }
    const { dModel: D, pool: p } = this.levels[s];
    this.encodeStageStep(this.stages.down[s], level, level.x, traceRow);

    // UpPool's output for this step plus the skip, read before the buffer is refilled below.
    const j = time % p;
    const column = (tensor: Tensor) => ({ tensor, rowStride: p * D, colOffset: j * D });
    encodeElementwise(ctx, { op: 'add', rows: B, cols: D, x: ops.whole(level.x, D), y: column(level.upBuffer!), out: ops.whole(level.upStream!, D) });
    encodeElementwise(ctx, { op: 'scale', rows: B, cols: D, x: ops.whole(level.x, D), out: column(level.downBuffer!) });
    if (j === p - 1) {
      const inner = this.tensors[s + 1];
      this.encodePoolLinear('down', s, level.downBuffer!, inner.x);
      const innerOut = this.encodeLevelStep(s + 1, Math.floor(time / p));
      this.encodePoolLinear('up', s, innerOut, level.upBuffer!);
    }
    this.encodeStageStep(this.stages.up[s], level, level.upStream!, traceRow);
    return level.upStream!;
  }

  /** out (B, outDim) = x (B, inDim) @ W^T + b for a pooling layer. */
  private encodePoolLinear(kind: 'down' | 'up', s: number, x: Tensor, out: Tensor): void {
    const names = poolParameterNames(kind, s);
    const weight = this.param(names.weight);
    const [outDim, inDim] = weight.shape;
    ops.linearForward(this.ctx, { x: ops.whole(x, inDim), weight, y: ops.whole(out, outDim), rows: this.batch, inDim, outDim, workspace: this.workspace });
    ops.addRowVector(this.ctx, { row: this.param(names.bias), out, rows: this.batch, width: outDim });
  }

  /**
   * Records one step of each residual block of the stage on x (B, D), in place, and its
   * traces into row `traceRow` when that is not -1. Traces need the per-kernel path, whose
   * intermediate tensors they copy; otherwise the stage's fused kernel runs.
   */
  private encodeStageStep(stage: SashimiStage, level: LevelTensors, x: Tensor, traceRow: number): void {
    const { ctx, config, batch: B } = this;
    const { dState: N, dtRank: R, dConv: K } = config;
    const D = stage.dModel;
    const DI = config.expand * D;
    const width = R + 2 * N;
    for (const block of stageBlocks(stage)) {
      const state = this.blockStates[block.index];
      const names = blockParameterNames(block.prefix);
      const workspace = this.workspace;
      ops.rmsNormForward(ctx, { x, weight: this.param(names.norm), out: level.normed, rstd: level.rstd, rows: B, D, eps: config.rmsNormEps });
      ops.linearForward(ctx, { x: ops.whole(level.normed, D), weight: this.param(names.inProj), y: ops.whole(level.xz, 2 * DI), rows: B, inDim: D, outDim: 2 * DI, workspace });
      encodeConv1dStep(ctx, {
        B,
        DI,
        K,
        x: { tensor: level.xz, rowStride: 2 * DI, colOffset: 0 },
        weight: this.param(names.convWeight),
        bias: this.param(names.convBias),
        state: state.conv,
        out: ops.whole(level.u, DI),
      });
      if (block.selective) {
        ops.linearForward(ctx, { x: ops.whole(level.u, DI), weight: this.param(names.xProjWeight), y: ops.whole(level.xDbl, width), rows: B, inDim: DI, outDim: width, workspace });
      } else {
        ops.broadcastRows(ctx, { row: this.param(names.xProjBias), out: level.xDbl, rows: B, width });
      }
      ops.linearForward(ctx, { x: { tensor: level.xDbl, rowStride: width, colOffset: 0 }, weight: this.param(names.dtProjWeight), y: ops.whole(level.delta, DI), rows: B, inDim: R, outDim: DI, workspace });
      encodeScanForward(ctx, { B, L: 1, DI, N, G: 1 }, {
        u: level.u,
        delta: level.delta,
        xbc: { tensor: level.xDbl, rowStride: width, bOffset: R, cOffset: R + N },
        z: { tensor: level.xz, rowStride: 2 * DI, colOffset: DI },
        channel: state.channel,
        states: state.ssm,
        saveChunkStates: false,
        out: level.y,
        deltaSoftplus: true,
        stateNorms: traceRow >= 0 ? level.stateNorm : null,
      });
      if (traceRow >= 0) {
        // Copies rather than views: storage bindings need 256-byte aligned offsets, copies only 4.
        const rowStart = traceRow * TRACE_PARTS * B * DI;
        const buffer = this.traceBuffers![block.index];
        ctx.copy(level.delta, rowsOf(buffer, rowStart, B * DI));
        ctx.copy(level.xz, rowsOf(buffer, rowStart + B * DI, 2 * B * DI));
        ctx.copy(level.stateNorm!, rowsOf(buffer, rowStart + 3 * B * DI, B * DI));
      }
      ops.linearForward(ctx, { x: ops.whole(level.y, DI), weight: this.param(names.outProj), y: ops.whole(level.blockOut, D), rows: B, inDim: DI, outDim: D, workspace });
      ops.addInPlace(ctx, { target: x, source: level.blockOut, count: B * D });
    }
  }

  // --- helpers ---------------------------------------------------------------------

  /** Returns `current` when it has at least `count` elements, else a new tensor (the old one released). */
  private ensureTensor(current: Tensor | null, label: string, count: number): Tensor {
    if (current && current.shape[0] >= count) return current;
    this.ctx.release(current);
    return this.ctx.tensor(label, [count]);
  }
}

/** Returns a view of `count` elements of a 1-D tensor, starting at element `first`. */
function rowsOf(tensor: Tensor, first: number, count: number): Tensor {
  return { buffer: tensor.buffer, shape: [count], byteOffset: tensor.byteOffset + first * 4, label: `${tensor.label} [${first}, ${first + count})` };
}
