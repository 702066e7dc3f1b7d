// The Mamba language model on the GPU, for training and for the parallel forward
// (inspection, prompt prefill).
//
//   x_0 = embedding[code]                                  (L, B, D)
//   x_{l+1} = x_l + Mamba_l(RMSNorm_l(x_l))                  prenorm residual blocks
//   logits = head(RMSNorm_f(x_nLayers))                    (L, B, V)
//
// Every activation the backward pass needs is kept per layer in an ActivationSet sized
// for one (B, L); the scan keeps only its chunk-boundary states. Buffers are allocated
// once per shape and reused, so a training loop does not grow GPU memory.
import type { GpuContext, Tensor } from '../context';
import { encodeConv1dState } from '../kernels/conv1d_state';
import { scanStateSlots, ScanWorkspace, type ScanShape } from '../kernels/scan';
import { EMBEDDING, FINAL_NORM, HEAD, innerWidth, layerParameterNames, parameterSpecs, requireFlatBackbone, type ModelConfig, type ParameterSpec } from './config';
import { allocateBlockActivations, encodeCrossEntropy, readParameterValues, uploadParameters, uploadTargetWeights, writeParameterValues, type BlockActivations, type TargetWeights } from './activations';
import type { ParameterMap } from './init';
import { encodeMixerBackward, encodeMixerForward, type MixerDims, type MixerScratch, type MixerWeights } from './mixer';
import * as ops from './ops';

type LayerActivations = BlockActivations;

interface Shape {
  B: number;
  L: number;
}

/** Gradients of a layer's activations, shared by all layers (used one layer at a time). */
interface GradientScratch extends MixerScratch {
  dNormed: Tensor;
}

/** Selectivity traces of one layer, each (L, B, DI) time-major. */
export interface LayerTraces {
  /** Step size after bias and softplus. */
  delta: Float32Array;
  /** The output gate silu(z). */
  gate: Float32Array;
  /** L2 norm of the SSM state over its N entries, after each step. */
  stateNorm: Float32Array;
}

export interface StepResult {
  /** Mean cross-entropy in nats per sample, on the GPU until read. */
  loss: Tensor;
}

export class MambaLM {
  readonly params = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  readonly specs: ParameterSpec[];
  private readonly DI: number;
  private shape: Shape | null = null;
  private layers: LayerActivations[] = [];
  private finalX: Tensor | null = null;
  private finalRstd: Tensor | null = null;
  private finalNormed: Tensor | null = null;
  private logits: Tensor | null = null;
  private codes: Tensor | null = null;
  private targets: Tensor | null = null;
  private rowLoss: Tensor | null = null;
  private meanLoss: Tensor | null = null;
  private scratch: GradientScratch | null = null;
  private dResidual: Tensor | null = null;
  private dLogits: Tensor | null = null;
  private targetWeights: Tensor | null = null;
  private stateNorms: Tensor[] = [];
  private readonly scanWorkspace: ScanWorkspace;
  private readonly workspace: ops.OpsWorkspace;

  constructor(private readonly ctx: GpuContext, readonly config: ModelConfig, values: ParameterMap) {
    requireFlatBackbone(config, 'MambaLM');
    this.DI = innerWidth(config);
    this.specs = parameterSpecs(config);
    uploadParameters(ctx, 'MambaLM', this.specs, values, this.params, this.grads);
    this.scanWorkspace = new ScanWorkspace(ctx);
    this.workspace = ops.createWorkspace(ctx);
  }

  private mixerDims(B: number, L: number): MixerDims {
    const { dModel: D, dState: N, dtRank: R, dConv: K } = this.config;
    return { B, L, D, DI: this.DI, N, R, K, selective: true };
  }

  private mixerTensors(map: Map<string, Tensor>, layer: number): MixerWeights {
    const names = layerParameterNames(layer);
    const selective = this.config.selective[layer];
    return {
      inProj: map.get(names.inProj)!,
      convWeight: map.get(names.convWeight)!,
      convBias: map.get(names.convBias)!,
      xProjWeight: selective ? map.get(names.xProjWeight)! : null,
      xProjBias: selective ? null : map.get(names.xProjBias)!,
      dtProjWeight: map.get(names.dtProjWeight)!,
      dtProjBias: map.get(names.dtProjBias)!,
      aLog: map.get(names.aLog)!,
      D: map.get(names.D)!,
      outProj: map.get(names.outProj)!,
    };
  }

  /** Reads every parameter back to the CPU. */
  async readParameters(): Promise<ParameterMap> {
    return readParameterValues(this.ctx, this.params);
  }

  /** Replaces the parameters' values (same config). */
  writeParameters(values: ParameterMap): void {
    writeParameterValues(this.ctx, 'MambaLM', this.params, values);
  }

  private param(name: string): Tensor {
    return this.params.get(name)!;
  }

  private grad(name: string): Tensor {
    return this.grads.get(name)!;
  }

  private headTensors(rows: number): ops.HeadTensors {
    const { dModel: D, vocabSize: V } = this.config;
    return { x: this.finalX!, normWeight: this.param(FINAL_NORM), headWeight: this.param(HEAD), normed: this.finalNormed!, rstd: this.finalRstd!, logits: this.logits!, rows, D, V, workspace: this.workspace };
  }

  /** Allocates activations for (B, L), reusing them when the shape is unchanged. */
  private ensureShape(B: number, L: number): void {
    if (this.shape && this.shape.B === B && this.shape.L === L) return;
    this.releaseActivations();
    const { ctx, config, DI } = this;
    const { dModel: D, dState: N, dtRank: R, vocabSize: V } = config;
    const scanShape: ScanShape = { B, L, DI, N, G: 1 };
    const slots = scanStateSlots(ctx, scanShape, R + 2 * N);
    this.layers = [];
    for (let layer = 0; layer < config.nLayers; layer++) {
      this.layers.push(allocateBlockActivations(ctx, (what) => `layer ${layer} ${what}`, { B, L, D, DI, N, R, slots }));
    }
    this.finalX = ctx.tensor('final x', [L, B, D]);
    this.finalRstd = ctx.tensor('final rstd', [L, B]);
    this.finalNormed = ctx.tensor('final normed', [L, B, D]);
    this.logits = ctx.tensor('logits', [L, B, V]);
    this.codes = ctx.tensor('input codes', [L, B]);
    this.targets = ctx.tensor('target codes', [L, B]);
    this.rowLoss = ctx.tensor('loss per row', [L, B]);
    this.meanLoss = ctx.tensor('mean loss', [1]);
    this.scratch = {
      dNormed: ctx.tensor('grad normed', [L, B, D]),
      dxz: ctx.tensor('grad xz', [L, B, 2 * DI]),
      dConvPre: ctx.tensor('grad conv pre-activation', [L, B, DI]),
      du: ctx.tensor('grad u', [L, B, DI]),
      dxDbl: ctx.tensor('grad x_dbl', [L, B, R + 2 * N]),
      dDelta: ctx.tensor('grad delta', [L, B, DI]),
      dy: ctx.tensor('grad y', [L, B, DI]),
    };
    this.dResidual = ctx.tensor('grad residual', [L, B, D]);
    this.dLogits = ctx.tensor('grad logits', [L, B, V]);
    this.shape = { B, L };
  }

  private releaseActivations(): void {
    const { ctx } = this;
    for (const layer of this.layers) ctx.release(...Object.values(layer));
    this.layers = [];
    ctx.release(this.finalX, this.finalRstd, this.finalNormed, this.logits, this.codes, this.targets, this.rowLoss, this.meanLoss, this.dResidual, this.dLogits, this.targetWeights);
    ctx.release(...this.stateNorms);
    this.stateNorms = [];
    this.targetWeights = null;
    if (this.scratch) ctx.release(...Object.values(this.scratch));
    this.scratch = null;
    this.shape = null;
  }

  /**
   * Encodes the forward pass on codes (L, B), time-major, up to the logits; with targets,
   * also the cross-entropy (per row and mean) and the logits gradient.
   */
  encodeForward(inputs: Uint32Array, B: number, targets?: Uint32Array, options: { targetWeights?: Float32Array; traces?: boolean } = {}): void {
    const L = inputs.length / B;
    if (!Number.isInteger(L) || L < 1) throw new Error(`MambaLM: ${inputs.length} input codes do not split into batches of ${B}`);
    for (const code of inputs) {
      if (code >= this.config.vocabSize) throw new Error(`MambaLM: input code ${code} is outside the vocabulary of ${this.config.vocabSize}`);
    }
    this.ensureShape(B, L);
    const { ctx, config, DI } = this;
    const { dModel: D, dState: N, dtRank: R, vocabSize: V } = config;
    const rows = L * B;
    ctx.write(this.codes!, inputs);
    if (targets) ctx.write(this.targets!, targets);
    let weights: TargetWeights | null = null;
    if (options.targetWeights) {
      weights = uploadTargetWeights(ctx, 'MambaLM', this.targetWeights, options.targetWeights, L, B);
      this.targetWeights = weights.tensor;
    }
    if (options.traces && this.stateNorms.length === 0) {
      for (let layer = 0; layer < config.nLayers; layer++) this.stateNorms.push(ctx.tensor(`layer ${layer} state norms`, [L, B, DI]));
    }

    ops.embeddingForward(ctx, { codes: this.codes!, table: this.param(EMBEDDING), out: this.layers[0]?.x ?? this.finalX!, rows, D, V });
    for (let layer = 0; layer < config.nLayers; layer++) {
      const a = this.layers[layer];
      const names = layerParameterNames(layer);
      const next = layer + 1 < config.nLayers ? this.layers[layer + 1].x : this.finalX!;

      ops.rmsNormForward(ctx, { x: a.x, weight: this.param(names.norm), out: a.normed, rstd: a.rstd, rows, D, eps: config.rmsNormEps });
      const dims = { ...this.mixerDims(B, L), selective: config.selective[layer] };
      const norms = options.traces ? this.stateNorms[layer] : null;
      encodeMixerForward(ctx, dims, this.mixerTensors(this.params, layer), a, ops.whole(a.normed, D), ops.whole(next, D), this.workspace, norms);
      ops.addInPlace(ctx, { target: next, source: a.x, count: rows * D });
    }

    ops.headForward(ctx, { ...this.headTensors(rows), eps: config.rmsNormEps });
    if (targets) {
      const loss = { logits: this.logits!, targets: this.targets!, rowLoss: this.rowLoss!, meanLoss: this.meanLoss!, dLogits: this.dLogits! };
      encodeCrossEntropy(ctx, loss, weights, rows, V, this.workspace);
    }
  }

  /**
   * Encodes forward, loss and backward on one batch; gradients land in `grads`
   * (overwritten), and the mean loss stays on the GPU in the returned tensor.
   */
  encodeForwardBackward(inputs: Uint32Array, targets: Uint32Array, B: number, targetWeights?: Float32Array): StepResult {
    this.encodeForward(inputs, B, targets, { targetWeights });
    this.encodeBackward();
    return { loss: this.meanLoss! };
  }

  private encodeBackward(): void {
    const { ctx, config, DI } = this;
    const { B, L } = this.shape!;
    const { dModel: D, dState: N, dtRank: R, vocabSize: V } = config;
    const rows = L * B;
    const s = this.scratch!;
    const dResidual = this.dResidual!;

    // Head and final norm: dResidual = RMSNorm_f'(dNormed), with dNormed = dlogits @ head.
    ops.headBackward(ctx, {
      ...this.headTensors(rows),
      dLogits: this.dLogits!,
      dNormed: s.dNormed,
      dx: dResidual,
      dNormWeight: this.grad(FINAL_NORM),
      dHeadWeight: this.grad(HEAD),
    });

    for (let layer = config.nLayers - 1; layer >= 0; layer--) {
      const a = this.layers[layer];
      const names = layerParameterNames(layer);

      const dims = { ...this.mixerDims(B, L), selective: config.selective[layer] };
      encodeMixerBackward(ctx, dims, this.mixerTensors(this.params, layer), this.mixerTensors(this.grads, layer), a, s, this.scanWorkspace, this.workspace, {
        dOut: { tensor: dResidual, rowStride: D, colOffset: 0 },
        input: { tensor: a.normed, rowStride: D, colOffset: 0 },
        dInput: { tensor: s.dNormed, rowStride: D, colOffset: 0 },
      });

      // Norm: dResidual += RMSNorm'(dNormed); the residual path passes dResidual through.
      ops.rmsNormBackward(ctx, { x: a.x, weight: this.param(names.norm), rstd: a.rstd, dOut: s.dNormed, dx: dResidual, accumulate: true, dWeight: this.grad(names.norm), rows, D, workspace: this.workspace });
    }

    ops.embeddingBackward(ctx, { codes: this.codes!, dOut: dResidual, dTable: this.grad(EMBEDDING), rows, D, V, workspace: this.workspace });
  }

  /** Mean loss of the last encoded forward with targets, in nats per sample. */
  async readLoss(): Promise<number> {
    return (await this.ctx.read(this.meanLoss!))[0];
  }

  /** Logits of the last forward, (L, B, V). */
  async readLogits(): Promise<Float32Array> {
    return this.ctx.read(this.logits!);
  }

  /**
   * Runs the parallel forward over a prompt (L, B) and returns what recurrent generation
   * continues from: per layer the conv state (B, DI, K) and SSM state (B, DI, N) after the
   * last prompt sample, in gpu/README.md's layouts, and the logits of that sample (B, V).
   */
  async prefill(inputs: Uint32Array, B: number): Promise<{ states: Array<{ conv: Float32Array; ssm: Float32Array }>; lastLogits: Float32Array }> {
    this.encodeForward(inputs, B);
    const { ctx, config, DI } = this;
    const { dState: N, dConv: K, vocabSize: V } = config;
    const L = inputs.length / B;
    const convState = ctx.tensor('prefill conv state', [B, DI, K]);
    const states: Array<{ conv: Float32Array; ssm: Float32Array }> = [];
    try {
      for (let layer = 0; layer < config.nLayers; layer++) {
        const a = this.layers[layer];
        encodeConv1dState(ctx, { B, L, DI, K, x: { tensor: a.xz, rowStride: 2 * DI, colOffset: 0 }, state: convState });
        const conv = await ctx.read(convState);
        // The forward saved the state after every chunk; the last slot is the final state.
        const slots = a.states.shape[0];
        const ssm = await ctx.read(a.states, (slots - 1) * B * DI * N, B * DI * N);
        states.push({ conv, ssm });
      }
    } finally {
      ctx.release(convState);
    }
    const lastLogits = await ctx.read(this.logits!, (L - 1) * B * V, B * V);
    return { states, lastLogits };
  }

  /** Loss of each position of the last forward with targets, in nats, (L, B). */
  async readRowLoss(): Promise<Float32Array> {
    return this.ctx.read(this.rowLoss!);
  }

  /**
   * Runs the forward on codes (L, B) and returns every layer's selectivity traces. The
   * softplus and SiLU are applied here on the CPU, to tensors the forward keeps anyway.
   */
  async inspect(inputs: Uint32Array, B: number): Promise<LayerTraces[]> {
    this.encodeForward(inputs, B, undefined, { traces: true });
    const { DI } = this;
    const rows = inputs.length;
    const traces: LayerTraces[] = [];
    for (let layer = 0; layer < this.config.nLayers; layer++) {
      const a = this.layers[layer];
      const bias = await this.ctx.read(this.param(layerParameterNames(layer).dtProjBias));
      const delta = await this.ctx.read(a.delta);
      const xz = await this.ctx.read(a.xz);
      const gate = new Float32Array(rows * DI);
      for (let r = 0; r < rows; r++) {
        for (let d = 0; d < DI; d++) {
          const raw = delta[r * DI + d] + bias[d];
          delta[r * DI + d] = raw > 20 ? raw : Math.log1p(Math.exp(raw));
          const z = xz[r * 2 * DI + DI + d];
          gate[r * DI + d] = z / (1 + Math.exp(-z));
        }
      }
      traces.push({ delta, gate, stateNorm: await this.ctx.read(this.stateNorms[layer]) });
    }
    return traces;
  }

  /** Returns the last forward's activations of one layer, for inspection and tests. */
  activations(layer: number): LayerActivations {
    return this.layers[layer];
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
