// The SaShiMi U-Net language model on the GPU, for training and the parallel forward. The
// architecture is described in sashimi-config.ts and its CPU reference is
// reference/sashimi.ts (sashimiForwardRef).
//
// Each stage keeps, per block, the activations the backward needs (as MambaLM does for
// its layers) at its level's length L_s = L / stride_s. Pooling is a time_pool re-layout
// followed by a linear layer with bias, and UpPool a linear layer followed by the delayed
// re-layout plus the skip connection. The backward runs the forward in reverse and keeps
// one residual gradient per level:
//   up blocks s       -> dRes_s is the gradient of up stage s's input, and of skip_s
//   UpPool s          -> dRes_{s+1} = W_up^T pool_shift1(dRes_s), the inner level's output
//   inner levels      -> dRes_{s+1} is the gradient of the inner level's input
//   DownPool s        -> dRes_s += unpool(W_down^T dRes_{s+1})
//   down blocks s     -> dRes_s is the gradient of level s's input
// Buffers are allocated once per (B, L) and reused.
import type { GpuContext, Tensor } from '../context';
import { scanStateSlots, ScanWorkspace } from '../kernels/scan';
import { encodeTimePool } from '../kernels/time_pool';
import { blockParameterNames, EMBEDDING, FINAL_NORM, HEAD, parameterSpecs, type BackboneBlock, type ModelConfig, type ParameterSpec } from './config';
import type { ParameterMap } from './init';
import type { LanguageModel, StepResult } from './language-model';
import { allocateBlockActivations, encodeCrossEntropy, readParameterValues, uploadParameters, uploadTargetWeights, writeParameterValues, type BlockActivations, type TargetWeights } from './activations';
import { encodeMixerBackward, encodeMixerForward, type MixerDims, type MixerScratch, type MixerWeights } from './mixer';
import * as ops from './ops';
import type { SashimiBlockTraces, SashimiState } from '../reference/sashimi';
import { captureSashimiPrefill, readSashimiTraces, type SashimiForwardTensors } from './sashimi-capture';
import { checkSequenceLength, poolParameterNames, sashimiLevels, sashimiStageList, stageBlocks, type SashimiLevel, type SashimiStage } from './sashimi-config';


interface StageActivations {
  stage: SashimiStage;
  blocks: BackboneBlock[];
  activations: BlockActivations[];
  /** (L_s, B, D_s), the first block's x. */
  input: Tensor;
  /** (L_s, B, D_s), the same tensor as input when the stage has no blocks. */
  output: Tensor;
}

/** Tensors of one level, sized (L_s, B, ...). */
interface LevelBuffers {
  L: number;
  /** Gradient of the residual stream at this level. */
  dResidual: Tensor;
  scratch: MixerScratch & { dNormed: Tensor };
  /** Levels s < S: the pooled skip (L_{s+1}, B, p D_s), kept for DownPool's weight gradient. */
  pooled: Tensor | null;
  /** Levels s < S: UpPool's linear output (L_{s+1}, B, p D_s). */
  upLinear: Tensor | null;
  /** Levels s < S: gradient of a (L_{s+1}, B, p D_s) tensor, used by both pooling layers in turn. */
  dPooled: Tensor | null;
}

export class SashimiLM implements LanguageModel {
  readonly params = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  readonly specs: ParameterSpec[];
  private readonly levels: SashimiLevel[];
  private readonly stages: SashimiStage[];
  private shape: { B: number; L: number } | null = null;
  private down: StageActivations[] = [];
  private center: StageActivations | null = null;
  private up: StageActivations[] = [];
  private buffers: LevelBuffers[] = [];
  private finalRstd: Tensor | null = null;
  private finalNormed: Tensor | null = null;
  private logits: Tensor | null = null;
  private codes: Tensor | null = null;
  private targets: Tensor | null = null;
  private targetWeights: Tensor | null = null;
  private rowLoss: Tensor | null = null;
  private meanLoss: Tensor | null = null;
  private dLogits: Tensor | null = null;
  private dFinalNormed: Tensor | null = null;
  /** Per block in forward order, ||h_t|| (L_s, B, DI_s); allocated by the first forward with traces. */
  private stateNorms: Tensor[] = [];
  private readonly scanWorkspace: ScanWorkspace;
  private readonly workspace: ops.OpsWorkspace;

  constructor(private readonly ctx: GpuContext, readonly config: ModelConfig, values: ParameterMap) {
    if (config.backbone !== 'sashimi') throw new Error('SashimiLM: the config\'s backbone is not "sashimi"; use MambaLM for a flat stack');
    this.levels = sashimiLevels(config);
    this.stages = sashimiStageList(config);
    this.specs = parameterSpecs(config);
    uploadParameters(ctx, 'SashimiLM', this.specs, values, this.params, this.grads);
    this.scanWorkspace = new ScanWorkspace(ctx);
    this.workspace = ops.createWorkspace(ctx);
  }

  async readParameters(): Promise<ParameterMap> {
    return readParameterValues(this.ctx, this.params);
  }

  writeParameters(values: ParameterMap): void {
    writeParameterValues(this.ctx, 'SashimiLM', this.params, values);
  }

  private mixerDims(block: BackboneBlock, B: number, L: number): MixerDims {
    const { dState: N, dtRank: R, dConv: K, expand } = this.config;
    return { B, L, D: block.dModel, DI: expand * block.dModel, N, R, K, selective: block.selective };
  }

  private mixerTensors(map: Map<string, Tensor>, block: BackboneBlock): MixerWeights {
    const names = blockParameterNames(block.prefix);
    return {
      inProj: map.get(names.inProj)!,
      convWeight: map.get(names.convWeight)!,
      convBias: map.get(names.convBias)!,
      xProjWeight: block.selective ? map.get(names.xProjWeight)! : null,
      xProjBias: block.selective ? null : map.get(names.xProjBias)!,
      dtProjWeight: map.get(names.dtProjWeight)!,
      dtProjBias: map.get(names.dtProjBias)!,
      aLog: map.get(names.aLog)!,
      D: map.get(names.D)!,
      outProj: map.get(names.outProj)!,
    };
  }

  // --- buffers ---------------------------------------------------------------------

  private allocateStage(stage: SashimiStage, B: number, L: number): StageActivations {
    const { ctx, config } = this;
    const { dState: N, dtRank: R } = config;
    const D = stage.dModel;
    const DI = config.expand * D;
    const where = stage.kind === 'center' ? 'center' : `${stage.kind} ${stage.level}`;
    const input = ctx.tensor(`${where} input`, [L, B, D]);
    const blocks = stageBlocks(stage);
    const slots = scanStateSlots(ctx, { B, L, DI, N, G: 1 }, R + 2 * N);
    // The first block's input is the stage's input.
    const activations = blocks.map((block, i) => allocateBlockActivations(ctx, (part) => `${block.prefix} ${part}`, { B, L, D, DI, N, R, slots }, i === 0 ? input : undefined));
    const output = blocks.length > 0 ? ctx.tensor(`${where} output`, [L, B, D]) : input;
    return { stage, blocks, activations, input, output };
  }

  private allocateLevel(level: SashimiLevel, B: number, L: number): LevelBuffers {
    const { ctx, config } = this;
    const { dState: N, dtRank: R } = config;
    const D = level.dModel;
    const DI = config.expand * D;
    const name = (part: string) => `level ${level.level} ${part}`;
    const pooledShape = [L / Math.max(level.pool, 1), B, level.pool * D];
    const inner = level.pool > 0;
    return {
      L,
      dResidual: ctx.tensor(name('grad residual'), [L, B, D]),
      scratch: {
        dNormed: ctx.tensor(name('grad normed'), [L, B, D]),
        dxz: ctx.tensor(name('grad xz'), [L, B, 2 * DI]),
        dConvPre: ctx.tensor(name('grad conv pre-activation'), [L, B, DI]),
        du: ctx.tensor(name('grad u'), [L, B, DI]),
        dxDbl: ctx.tensor(name('grad x_dbl'), [L, B, R + 2 * N]),
        dDelta: ctx.tensor(name('grad delta'), [L, B, DI]),
        dy: ctx.tensor(name('grad y'), [L, B, DI]),
      },
      pooled: inner ? ctx.tensor(name('pooled skip'), pooledShape) : null,
      upLinear: inner ? ctx.tensor(name('up-pool linear'), pooledShape) : null,
      dPooled: inner ? ctx.tensor(name('grad pooled'), pooledShape) : null,
    };
  }

  private ensureShape(B: number, L: number): void {
    if (this.shape && this.shape.B === B && this.shape.L === L) return;
    this.releaseActivations();
    const { ctx, config } = this;
    const { dModel: D, vocabSize: V } = config;
    const lengthOf = (level: number) => L / this.levels[level].stride;
    for (const stage of this.stages) {
      const activations = this.allocateStage(stage, B, lengthOf(stage.level));
      if (stage.kind === 'down') this.down[stage.level] = activations;
      else if (stage.kind === 'up') this.up[stage.level] = activations;
      else this.center = activations;
    }
    this.buffers = this.levels.map((level) => this.allocateLevel(level, B, lengthOf(level.level)));
    this.finalRstd = ctx.tensor('final rstd', [L, B]);
    this.finalNormed = ctx.tensor('final normed', [L, B, D]);
    this.dFinalNormed = ctx.tensor('grad final normed', [L, B, D]);
    this.logits = ctx.tensor('logits', [L, B, V]);
    this.codes = ctx.tensor('input codes', [L, B]);
    this.targets = ctx.tensor('target codes', [L, B]);
    this.rowLoss = ctx.tensor('loss per row', [L, B]);
    this.meanLoss = ctx.tensor('mean loss', [1]);
    this.dLogits = ctx.tensor('grad logits', [L, B, V]);
    this.shape = { B, L };
  }

  private releaseActivations(): void {
    const { ctx } = this;
    for (const stage of [...this.down, ...this.up, ...(this.center ? [this.center] : [])]) {
      for (const a of stage.activations) ctx.release(...Object.values(a));
      ctx.release(stage.input, stage.output);
    }
    for (const level of this.buffers) ctx.release(level.dResidual, ...Object.values(level.scratch), level.pooled, level.upLinear, level.dPooled);
    ctx.release(this.finalRstd, this.finalNormed, this.dFinalNormed, this.logits, this.codes, this.targets, this.rowLoss, this.meanLoss, this.dLogits, this.targetWeights);
    ctx.release(...this.stateNorms);
    this.stateNorms = [];
    this.down = [];
    this.up = [];
    this.center = null;
    this.buffers = [];
    this.targetWeights = null;
    this.shape = null;
  }

  // --- forward ---------------------------------------------------------------------

  private stageForward(s: StageActivations, B: number, traces: boolean): void {
    const { ctx, config } = this;
    const D = s.stage.dModel;
    const L = this.buffers[s.stage.level].L;
    const rows = L * B;
    s.activations.forEach((a, i) => {
      const block = s.blocks[i];
      const next = i + 1 < s.activations.length ? s.activations[i + 1].x : s.output;
      ops.rmsNormForward(ctx, { x: a.x, weight: this.params.get(blockParameterNames(block.prefix).norm)!, out: a.normed, rstd: a.rstd, rows, D, eps: config.rmsNormEps });
      const norms = traces ? this.stateNorms[block.index] : null;
      encodeMixerForward(ctx, this.mixerDims(block, B, L), this.mixerTensors(this.params, block), a, ops.whole(a.normed, D), ops.whole(next, D), this.workspace, norms);
      ops.addInPlace(ctx, { target: next, source: a.x, count: rows * D });
    });
  }

  /** Input tensor of level s: its down stage's input, or the center's at the innermost level. */
  private levelInput(s: number): Tensor {
    return s < this.levels.length - 1 ? this.down[s].input : this.center!.input;
  }

  /** Output tensor of level s: its up stage's output, or the center's at the innermost level. */
  private levelOutput(s: number): Tensor {
    return s < this.levels.length - 1 ? this.up[s].output : this.center!.output;
  }

  private headTensors(rows: number): ops.HeadTensors {
    const { dModel: D, vocabSize: V } = this.config;
    const params = this.params;
    return { x: this.levelOutput(0), normWeight: params.get(FINAL_NORM)!, headWeight: params.get(HEAD)!, normed: this.finalNormed!, rstd: this.finalRstd!, logits: this.logits!, rows, D, V, workspace: this.workspace };
  }

  /**
   * Encodes the forward pass on codes (L, B), time-major, up to the logits. With targets,
   * also the cross-entropy (per row and mean) and the logits gradient. L must be a multiple
   * of the product of the pool factors.
   */
  encodeForward(inputs: Uint32Array, B: number, targets?: Uint32Array, options: { targetWeights?: Float32Array; traces?: boolean } = {}): void {
    const L = inputs.length / B;
    if (!Number.isInteger(L) || L < 1) throw new Error(`SashimiLM: ${inputs.length} input codes do not split into batches of ${B}`);
    checkSequenceLength(this.config, L);
    for (const code of inputs) {
      if (code >= this.config.vocabSize) throw new Error(`SashimiLM: input code ${code} is outside the vocabulary of ${this.config.vocabSize}`);
    }
    this.ensureShape(B, L);
    const { ctx, config, levels } = this;
    const { dModel: D, vocabSize: V } = config;
    const S = levels.length - 1;
    const rows = L * B;
    ctx.write(this.codes!, inputs);
    if (targets) ctx.write(this.targets!, targets);
    let weights: TargetWeights | null = null;
    if (options.targetWeights) {
      weights = uploadTargetWeights(ctx, 'SashimiLM', this.targetWeights, options.targetWeights, L, B);
      this.targetWeights = weights.tensor;
    }
    const traces = options.traces ?? false;
    if (traces && this.stateNorms.length === 0) {
      for (const stage of [...this.down, this.center!, ...this.up]) {
        stage.blocks.forEach((block) => {
          this.stateNorms[block.index] = ctx.tensor(`${block.prefix} state norms`, [this.buffers[stage.stage.level].L, B, config.expand * block.dModel]);
        });
      }
    }

    ops.embeddingForward(ctx, { codes: this.codes!, table: this.params.get(EMBEDDING)!, out: this.levelInput(0), rows, D, V });
    for (let s = 0; s < S; s++) {
      const { dModel: Ds, pool: p } = levels[s];
      const level = this.buffers[s];
      this.stageForward(this.down[s], B, traces);
      encodeTimePool(ctx, { direction: 'pool', B, L: level.L, factor: p, C: Ds, input: this.down[s].output, output: level.pooled! });
      this.poolLinearForward('down', s, level.pooled!, this.levelInput(s + 1), (level.L / p) * B);
    }
    this.stageForward(this.center!, B, traces);
    for (let s = S - 1; s >= 0; s--) {
      const { dModel: Ds, pool: p } = levels[s];
      const level = this.buffers[s];
      this.poolLinearForward('up', s, this.levelOutput(s + 1), level.upLinear!, (level.L / p) * B);
      encodeTimePool(ctx, { direction: 'unpool', B, L: level.L, factor: p, C: Ds, shift: 1, input: level.upLinear!, output: this.up[s].input });
      ops.addInPlace(ctx, { target: this.up[s].input, source: this.down[s].output, count: level.L * B * Ds });
      this.stageForward(this.up[s], B, traces);
    }

    ops.headForward(ctx, { ...this.headTensors(rows), eps: config.rmsNormEps });
    if (targets) {
      const loss = { logits: this.logits!, targets: this.targets!, rowLoss: this.rowLoss!, meanLoss: this.meanLoss!, dLogits: this.dLogits! };
      encodeCrossEntropy(ctx, loss, weights, rows, V, this.workspace);
    }
  }

  /** out = x @ W^T + b for the pooling layer of `kind` at level s, over `rows` pooled rows. */
  private poolLinearForward(kind: 'down' | 'up', s: number, x: Tensor, out: Tensor, rows: number): void {
    const names = poolParameterNames(kind, s);
    const [outDim, inDim] = this.params.get(names.weight)!.shape;
    ops.linearForward(this.ctx, { x: ops.whole(x, inDim), weight: this.params.get(names.weight)!, y: ops.whole(out, outDim), rows, inDim, outDim, workspace: this.workspace });
    ops.addRowVector(this.ctx, { row: this.params.get(names.bias)!, out, rows, width: outDim });
  }

  // --- backward --------------------------------------------------------------------

  /**
   * Encodes forward, loss and backward on one batch. Gradients land in `grads`
   * (overwritten), and the mean loss stays on the GPU in the returned tensor.
   */
  encodeForwardBackward(inputs: Uint32Array, targets: Uint32Array, B: number, targetWeights?: Float32Array): StepResult {
    this.encodeForward(inputs, B, targets, { targetWeights });
    this.encodeBackward();
    return { loss: this.meanLoss! };
  }

  private encodeBackward(): void {
    const { ctx, config, levels } = this;
    const { B, L } = this.shape!;
    const { dModel: D, vocabSize: V } = config;
    const rows = L * B;
    const S = levels.length - 1;
    const top = this.buffers[0];

    ops.headBackward(ctx, {
      ...this.headTensors(rows),
      dLogits: this.dLogits!,
      dNormed: this.dFinalNormed!,
      dx: top.dResidual,
      dNormWeight: this.grads.get(FINAL_NORM)!,
      dHeadWeight: this.grads.get(HEAD)!,
    });

    for (let s = 0; s < S; s++) {
      const { dModel: Ds, pool: p } = levels[s];
      const level = this.buffers[s];
      this.stageBackward(this.up[s], B);
      // dRes_s is now the gradient of up stage s's input, shared by UpPool's output and skip_s.
      encodeTimePool(ctx, { direction: 'pool', B, L: level.L, factor: p, C: Ds, shift: 1, input: level.dResidual, output: level.dPooled! });
      this.poolLinearBackward('up', s, this.levelOutput(s + 1), level.dPooled!, this.buffers[s + 1].dResidual, (level.L / p) * B);
    }
    this.stageBackward(this.center!, B);
    for (let s = S - 1; s >= 0; s--) {
      const { dModel: Ds, pool: p } = levels[s];
      const level = this.buffers[s];
      this.poolLinearBackward('down', s, level.pooled!, this.buffers[s + 1].dResidual, level.dPooled!, (level.L / p) * B);
      encodeTimePool(ctx, { direction: 'unpool', B, L: level.L, factor: p, C: Ds, input: level.dPooled!, output: level.dResidual, accumulate: true });
      this.stageBackward(this.down[s], B);
    }

    ops.embeddingBackward(ctx, { codes: this.codes!, dOut: top.dResidual, dTable: this.grads.get(EMBEDDING)!, rows, D, V, workspace: this.workspace });
  }

  /** Turns dRes of the stage's output into dRes of its input, filling its blocks' gradients. */
  private stageBackward(s: StageActivations, B: number): void {
    const { ctx } = this;
    const D = s.stage.dModel;
    const level = this.buffers[s.stage.level];
    const rows = level.L * B;
    for (let i = s.activations.length - 1; i >= 0; i--) {
      const a = s.activations[i];
      const block = s.blocks[i];
      encodeMixerBackward(ctx, this.mixerDims(block, B, level.L), this.mixerTensors(this.params, block), this.mixerTensors(this.grads, block), a, level.scratch, this.scanWorkspace, this.workspace, {
        dOut: ops.whole(level.dResidual, D),
        input: ops.whole(a.normed, D),
        dInput: ops.whole(level.scratch.dNormed, D),
      });
      const names = blockParameterNames(block.prefix);
      ops.rmsNormBackward(ctx, {
        x: a.x,
        weight: this.params.get(names.norm)!,
        rstd: a.rstd,
        dOut: level.scratch.dNormed,
        dx: level.dResidual,
        accumulate: true,
        dWeight: this.grads.get(names.norm)!,
        rows,
        D,
        workspace: this.workspace,
      });
    }
  }

  /** Gradients of a pooling linear: dW = dy^T x, db = column sums of dy, dx = dy W (overwritten). */
  private poolLinearBackward(kind: 'down' | 'up', s: number, x: Tensor, dy: Tensor, dx: Tensor, rows: number): void {
    const { ctx, workspace } = this;
    const names = poolParameterNames(kind, s);
    const [outDim, inDim] = this.params.get(names.weight)!.shape;
    ops.linearWeightGrad(ctx, { dy: ops.whole(dy, outDim), x: ops.whole(x, inDim), dWeight: this.grads.get(names.weight)!, rows, inDim, outDim, workspace });
    ops.columnSums(ctx, { x: dy, out: this.grads.get(names.bias)!, rows, width: outDim, workspace });
    ops.linearInputGrad(ctx, { dy: ops.whole(dy, outDim), weight: this.params.get(names.weight)!, dx: ops.whole(dx, inDim), rows, inDim, outDim, workspace });
  }

  // --- read-back -------------------------------------------------------------------

  /** Mean loss of the last encoded forward with targets, in nats per sample. */
  async readLoss(): Promise<number> {
    return (await this.ctx.read(this.meanLoss!))[0];
  }

  /** Logits of the last forward, (L, B, V). */
  async readLogits(): Promise<Float32Array> {
    return this.ctx.read(this.logits!);
  }

  /** Loss of each position of the last forward with targets, in nats, (L, B). */
  async readRowLoss(): Promise<Float32Array> {
    return this.ctx.read(this.rowLoss!);
  }

  /**
   * Returns the tensors of the last forward that prefill and inspection read: per block in
   * forward order its activations and state norms (null unless the forward had traces),
   * and per level s < S the pooled skips and UpPool's linear output.
   */
  forwardTensors(): SashimiForwardTensors {
    if (!this.shape) throw new Error('SashimiLM: no forward has run yet');
    const blocks: SashimiForwardTensors['blocks'] = [];
    for (const stage of [...this.down, this.center!, ...this.up]) {
      stage.blocks.forEach((block, i) => {
        blocks[block.index] = { block, level: stage.stage.level, L: this.buffers[stage.stage.level].L, activations: stage.activations[i], stateNorms: this.stateNorms[block.index] ?? null };
      });
    }
    const inner = this.buffers.slice(0, -1);
    return { ...this.shape, blocks, pooled: inner.map((level) => level.pooled!), upLinear: inner.map((level) => level.upLinear!), logits: this.logits! };
  }

  /**
   * Runs a prompt (L, B) of any length through the parallel forward and returns the state
   * that SashimiGenerator continues from, with the logits of the last sample (B, V).
   * sashimi-capture.ts describes how.
   */
  async prefill(inputs: Uint32Array, B: number): Promise<{ state: SashimiState; lastLogits: Float32Array }> {
    return captureSashimiPrefill(this.ctx, this, inputs, B);
  }

  /** Runs the forward on codes (L, B), L a multiple of the pool product, and returns every block's selectivity traces at its level's resolution. */
  async inspect(inputs: Uint32Array, B: number): Promise<SashimiBlockTraces[]> {
    this.encodeForward(inputs, B, undefined, { traces: true });
    return readSashimiTraces(this.ctx, this);
  }

  destroy(): void {
    this.releaseActivations();
    this.scanWorkspace.destroy();
    this.workspace.destroy();
    for (const tensor of this.params.values()) this.ctx.release(tensor);
    for (const tensor of this.grads.values()) this.ctx.release(tensor);
    this.params.clear();
    this.grads.clear();
  }
}
