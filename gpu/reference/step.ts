// CPU reference of recurrent generation: one step of one Mamba block (the authors'
// Mamba.step), one step of the whole language model, and a generator loop built on them.
// Plain loops in float64 over float32 data, with states kept in float32 as PyTorch keeps
// them; the yardstick for the WGSL generator in gpu/generate/.
//
// One block step, for each of B streams (letters as in gpu/README.md):
//   [xi | z] = in_proj.weight @ h                                   (2 DI)
//   conv     = [conv[1..K-1], xi];  xc = conv . conv1d.weight[d] + conv1d.bias[d]
//   u        = silu(xc)                                             (DI)
//   [dt | B | C] = x_proj.weight @ u, or x_proj.bias when the layer is not selective
//   delta    = softplus(dt_proj.weight @ dt + dt_proj.bias)           (DI)
//   h_ssm    = exp(delta * A) * h_ssm + delta * B * u,  A = -exp(A_log)   (DI, N)
//   y        = (C . h_ssm + D * u) * silu(z)                           (DI)
//   out      = out_proj.weight @ y                                      (D)
// The model step: x = embedding[code]; x += block(RMSNorm(x) * norm.weight) per layer;
// logits = lm_head.weight @ (RMSNorm(x) * norm_f.weight).
//
// State layouts (gpu/README.md): conv (B, DI, K) at (b * DI + d) * K + k with k = 0 the
// oldest input, holding the last K block inputs including the current one; SSM (B, DI, N)
// at (b * DI + d) * N + n.
import { EMBEDDING, FINAL_NORM, HEAD, innerWidth, layerParameterNames, requireFlatBackbone, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { sampleLogits, sampleUniform, validateSampling } from '../generate/sampler';

export interface BlockDims {
  /** Model width D. */
  D: number;
  /** Inner width DI. */
  DI: number;
  /** State size N. */
  N: number;
  /** Rank R of the delta projection. */
  R: number;
  /** Conv width K. */
  K: number;
}

/** One block's parameters in PyTorch's row-major layouts. */
export interface BlockParams {
  /** (2 DI, D) */
  inProj: Float32Array;
  /** (DI, K), PyTorch's (DI, 1, K) */
  convWeight: Float32Array;
  /** (DI) */
  convBias: Float32Array;
  /** (R + 2N, DI), or null for a non-selective block. */
  xProjWeight: Float32Array | null;
  /** (R + 2N), the constant [dt | B | C] row of a non-selective block, else null. */
  xProjBias: Float32Array | null;
  /** (DI, R) */
  dtProjWeight: Float32Array;
  /** (DI) */
  dtProjBias: Float32Array;
  /** (DI, N) */
  aLog: Float32Array;
  /** (DI) */
  D: Float32Array;
  /** (D, DI) */
  outProj: Float32Array;
}

/** The recurrent state of one layer for B streams. */
export interface LayerState {
  /** (B, DI, K), k = 0 the oldest input. */
  conv: Float32Array;
  /** (B, DI, N) */
  ssm: Float32Array;
}

/** Selectivity values of one block step, per stream and channel (B, DI). */
export interface BlockTrace {
  /** delta after softplus. */
  delta: Float32Array;
  /** silu(z), the output gate. */
  gate: Float32Array;
  /** L2 norm over n of the SSM state after the update. */
  stateNorm: Float32Array;
}

export function blockDims(config: ModelConfig): BlockDims {
  return { D: config.dModel, DI: innerWidth(config), N: config.dState, R: config.dtRank, K: config.dConv };
}

function required(params: ParameterMap, name: string): Float32Array {
  const values = params.get(name);
  if (!values) throw new Error(`Parameter ${name} is missing from the parameter map.`);
  return values;
}

/** Picks layer `layer`'s block parameters out of a model's parameter map. */
export function blockParamsOf(config: ModelConfig, params: ParameterMap, layer: number): BlockParams {
  const names = layerParameterNames(layer);
  const selective = config.selective[layer];
  return {
    inProj: required(params, names.inProj),
    convWeight: required(params, names.convWeight),
    convBias: required(params, names.convBias),
    xProjWeight: selective ? required(params, names.xProjWeight) : null,
    xProjBias: selective ? null : required(params, names.xProjBias),
    dtProjWeight: required(params, names.dtProjWeight),
    dtProjBias: required(params, names.dtProjBias),
    aLog: required(params, names.aLog),
    D: required(params, names.D),
    outProj: required(params, names.outProj),
  };
}

/** Zeroed states for every layer, as after allocate_inference_cache. */
export function createLayerStates(config: ModelConfig, batch: number): LayerState[] {
  const { DI, N, K } = blockDims(config);
  return Array.from({ length: config.nLayers }, () => ({
    conv: new Float32Array(batch * DI * K),
    ssm: new Float32Array(batch * DI * N),
  }));
}

export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** Row-wise RMSNorm of (rows, width) times `weight`. */
export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number, rows: number, width: number): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let sumSquares = 0;
    for (let i = 0; i < width; i++) sumSquares += x[r * width + i] ** 2;
    const scale = 1 / Math.sqrt(sumSquares / width + eps);
    for (let i = 0; i < width; i++) out[r * width + i] = x[r * width + i] * scale * weight[i];
  }
  return out;
}

/**
 * One recurrent step of one Mamba block for B streams: takes the block input (B, D),
 * updates `state` in place and returns the block output (B, D), without norm or residual.
 * With `trace`, also fills its (B, DI) arrays.
 */
export function mambaBlockStep(
  dims: BlockDims,
  params: BlockParams,
  hidden: Float32Array,
  state: LayerState,
  batch: number,
  trace?: BlockTrace,
): Float32Array {
  const { D, DI, N, R, K } = dims;
  const xr = R + 2 * N;
  const out = new Float32Array(batch * D);
  const u = new Float64Array(DI);
  const z = new Float64Array(DI);
  const y = new Float64Array(DI);
  const xDbl = new Float64Array(xr);

  for (let b = 0; b < batch; b++) {
    const h = hidden.subarray(b * D, (b + 1) * D);

    // in_proj, conv1d over the shifted conv state, SiLU.
    for (let d = 0; d < DI; d++) {
      let xi = 0;
      let zi = 0;
      for (let i = 0; i < D; i++) {
        xi += params.inProj[d * D + i] * h[i];
        zi += params.inProj[(DI + d) * D + i] * h[i];
      }
      z[d] = zi;
      const conv = state.conv.subarray((b * DI + d) * K, (b * DI + d + 1) * K);
      conv.copyWithin(0, 1);
      conv[K - 1] = xi;
      let xc = params.convBias[d];
      for (let k = 0; k < K; k++) xc += conv[k] * params.convWeight[d * K + k];
      u[d] = silu(xc);
    }

    // x_proj: [dt | B | C].
    for (let o = 0; o < xr; o++) {
      if (params.xProjWeight) {
        let sum = 0;
        for (let d = 0; d < DI; d++) sum += params.xProjWeight[o * DI + d] * u[d];
        xDbl[o] = sum;
      } else {
        xDbl[o] = params.xProjBias![o];
      }
    }

    // delta, the SSM update (zero-order hold for A, Euler for B) and the gated output.
    for (let d = 0; d < DI; d++) {
      let dt = params.dtProjBias[d];
      for (let r = 0; r < R; r++) dt += params.dtProjWeight[d * R + r] * xDbl[r];
      const delta = softplus(dt);
      const ssm = state.ssm.subarray((b * DI + d) * N, (b * DI + d + 1) * N);
      let ySum = 0;
      let squares = 0;
      for (let n = 0; n < N; n++) {
        const a = -Math.exp(params.aLog[d * N + n]);
        ssm[n] = Math.exp(delta * a) * ssm[n] + delta * xDbl[R + n] * u[d];
        ySum += ssm[n] * xDbl[R + N + n];
        squares += ssm[n] * ssm[n];
      }
      const gate = silu(z[d]);
      y[d] = (ySum + params.D[d] * u[d]) * gate;
      if (trace) {
        trace.delta[b * DI + d] = delta;
        trace.gate[b * DI + d] = gate;
        trace.stateNorm[b * DI + d] = Math.sqrt(squares);
      }
    }

    for (let o = 0; o < D; o++) {
      let sum = 0;
      for (let d = 0; d < DI; d++) sum += params.outProj[o * DI + d] * y[d];
      out[b * D + o] = sum;
    }
  }
  return out;
}

/**
 * One step of the whole model: consumes one code per stream, updates every layer's state
 * in place and returns the logits (B, V). With `traces`, fills one BlockTrace per layer.
 */
export function modelStep(
  config: ModelConfig,
  params: ParameterMap,
  codes: ArrayLike<number>,
  states: LayerState[],
  traces?: BlockTrace[],
): Float32Array {
  requireFlatBackbone(config, 'modelStep (sashimiStep in reference/sashimi.ts is the U-Net\'s)');
  const dims = blockDims(config);
  const { D } = dims;
  const V = config.vocabSize;
  const batch = codes.length;
  const embedding = required(params, EMBEDDING);

  const x = new Float32Array(batch * D);
  for (let b = 0; b < batch; b++) {
    const code = codes[b];
    if (!Number.isInteger(code) || code < 0 || code >= V) throw new RangeError(`code ${code} of stream ${b} is outside 0..${V - 1}`);
    x.set(embedding.subarray(code * D, (code + 1) * D), b * D);
  }

  for (let layer = 0; layer < config.nLayers; layer++) {
    const names = layerParameterNames(layer);
    const normed = rmsNorm(x, required(params, names.norm), config.rmsNormEps, batch, D);
    const out = mambaBlockStep(dims, blockParamsOf(config, params, layer), normed, states[layer], batch, traces?.[layer]);
    for (let i = 0; i < x.length; i++) x[i] += out[i];
  }

  const normed = rmsNorm(x, required(params, FINAL_NORM), config.rmsNormEps, batch, D);
  const head = required(params, HEAD);
  const logits = new Float32Array(batch * V);
  for (let b = 0; b < batch; b++) {
    for (let v = 0; v < V; v++) {
      let sum = 0;
      for (let i = 0; i < D; i++) sum += head[v * D + i] * normed[b * D + i];
      logits[b * V + v] = sum;
    }
  }
  return logits;
}

export interface ReferenceGenerateOptions {
  /** Samples to generate per stream. */
  samples: number;
  temperature: number;
  topP: number;
  seed: number;
  /** Code fed first when no logits are pending (after reset); default V / 2, mid-scale (128 for 8-bit audio). */
  startCode?: number;
}

/**
 * The generator loop of the CPU references, with the GPU generators' semantics. The
 * logits of the last consumed code stay pending, and generate() samples from them, feeds
 * the sample back and repeats. Subclasses own the recurrent state and step it.
 */
export abstract class ReferenceGeneratorLoop {
  /** Logits (B, V) of the last step, or null after reset(). */
  pendingLogits: Float32Array | null = null;
  /** Samples generated since the last reset, the counter of the random draws. */
  private generated = 0;

  constructor(
    readonly config: ModelConfig,
    readonly params: ParameterMap,
    readonly batch: number,
  ) {}

  /** Feeds one code per stream and returns the logits (B, V), which become the pending ones. */
  abstract step(codes: ArrayLike<number>): Float32Array;

  /** Forgets the pending logits and restarts the draw counter; subclasses also zero their state. */
  reset(): void {
    this.pendingLogits = null;
    this.generated = 0;
  }

  /** Generates `samples` codes per stream; returns them time-major (samples, B). */
  generate(options: ReferenceGenerateOptions): Uint32Array {
    validateSampling(options);
    const V = this.config.vocabSize;
    if (!this.pendingLogits) this.step(new Array(this.batch).fill(options.startCode ?? Math.floor(V / 2)));
    const codes = new Uint32Array(options.samples * this.batch);
    const next = new Array<number>(this.batch);
    for (let t = 0; t < options.samples; t++) {
      for (let b = 0; b < this.batch; b++) {
        const uniform = sampleUniform(options.seed, b, this.generated);
        next[b] = sampleLogits(this.pendingLogits!, options, uniform, b * V, V);
        codes[t * this.batch + b] = next[b];
      }
      this.generated++;
      this.step(next);
    }
    return codes;
  }
}

/** The CPU reference generator of flat models. The benchmarks use it as the TypeScript reference path. */
export class ReferenceGenerator extends ReferenceGeneratorLoop {
  states: LayerState[];

  constructor(config: ModelConfig, params: ParameterMap, batch: number) {
    super(config, params, batch);
    this.states = createLayerStates(config, batch);
  }

  override reset(): void {
    super.reset();
    this.states = createLayerStates(this.config, this.batch);
  }

  /** Feeds one code per stream and returns the logits (B, V). */
  step(codes: ArrayLike<number>, traces?: BlockTrace[]): Float32Array {
    if (codes.length !== this.batch) throw new RangeError(`step: ${codes.length} codes for a batch of ${this.batch}`);
    this.pendingLogits = modelStep(this.config, this.params, codes, this.states, traces);
    return this.pendingLogits;
  }
}
