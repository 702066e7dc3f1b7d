// CPU reference of the parallel (training-time) forward pass: one Mamba block, and the
// whole language model. Plain float64 loops over float32 data, in the time-major layout
// of gpu/README.md; slow, and the yardstick for the GPU model and the recurrent step.
import { EMBEDDING, FINAL_NORM, HEAD, innerWidth, layerParameterNames, requireFlatBackbone, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { selectiveScanRef } from './scan';

/** The parameters of one Mamba block (mixer), as in mamba_ssm's Mamba module. */
export interface BlockParameters {
  inProj: Float32Array; // (2 DI, D)
  convWeight: Float32Array; // (DI, K)
  convBias: Float32Array; // (DI)
  xProjWeight: Float32Array | null; // (R + 2N, DI), selective blocks
  xProjBias: Float32Array | null; // (R + 2N), non-selective blocks
  dtProjWeight: Float32Array; // (DI, R)
  dtProjBias: Float32Array; // (DI)
  aLog: Float32Array; // (DI, N)
  D: Float32Array; // (DI)
  outProj: Float32Array; // (D, DI)
}

export interface BlockDims {
  B: number;
  L: number;
  D: number;
  DI: number;
  N: number;
  R: number;
  K: number;
}

/** Intermediates of a block forward, all time-major (L, B, C). */
export interface BlockForward {
  xz: Float32Array; // (L, B, 2 DI): [x | z]
  u: Float32Array; // (L, B, DI): silu(conv1d(x) + bias)
  xDbl: Float32Array; // (L, B, R + 2N): [dt | B | C]
  deltaRaw: Float32Array; // (L, B, DI): dt_proj.weight @ dt, without the bias
  y: Float32Array; // (L, B, DI): gated scan output
  out: Float32Array; // (L, B, D)
  ssmState: Float32Array; // (B, DI, N) after the last step
  convState: Float32Array; // (B, DI, K): the last K inputs x, zero-padded on the left
  stateNorms: Float32Array; // (L, B, DI): ||h_t|| over n
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** out[r, o] = sum_i in[r, inOffset + i] * W[o, i] for rows r, with W (outDim, inDim). */
function linear(input: Float32Array, rows: number, inStride: number, inOffset: number, inDim: number, weight: Float32Array, outDim: number): Float32Array {
  const out = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let sum = 0;
      for (let i = 0; i < inDim; i++) sum += input[r * inStride + inOffset + i] * weight[o * inDim + i];
      out[r * outDim + o] = sum;
    }
  }
  return out;
}

/**
 * Forward of one Mamba block on x (L, B, D), optionally continuing from conv and SSM
 * states (a prefill that resumes), as mamba_ssm's Mamba.forward.
 */
export function mambaBlockRef(
  dims: BlockDims,
  p: BlockParameters,
  x: Float32Array,
  initial?: { convState: Float32Array; ssmState: Float32Array },
): BlockForward {
  const { B, L, D, DI, N, R, K } = dims;
  const rows = L * B;
  const xz = linear(x, rows, D, 0, D, p.inProj, 2 * DI);

  // Causal depthwise conv: input at time t - K + 1 + k, with the initial conv state (the
  // K inputs before t = 0, oldest first) standing in for negative times.
  const u = new Float32Array(rows * DI);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      for (let t = 0; t < L; t++) {
        let sum = p.convBias[d];
        for (let k = 0; k < K; k++) {
          const source = t - K + 1 + k;
          let value = 0;
          if (source >= 0) value = xz[(source * B + b) * 2 * DI + d];
          else if (initial) value = initial.convState[(b * DI + d) * K + K + source];
          sum += value * p.convWeight[d * K + k];
        }
        u[(t * B + b) * DI + d] = silu(sum);
      }
    }
  }

  const width = R + 2 * N;
  let xDbl: Float32Array;
  if (p.xProjWeight) xDbl = linear(u, rows, DI, 0, DI, p.xProjWeight, width);
  else {
    xDbl = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) xDbl.set(p.xProjBias!, r * width);
  }
  const deltaRaw = linear(xDbl, rows, width, 0, R, p.dtProjWeight, DI);

  const A = Float32Array.from(p.aLog, (value) => -Math.exp(value));
  const z = new Float32Array(rows * DI);
  for (let r = 0; r < rows; r++) for (let d = 0; d < DI; d++) z[r * DI + d] = xz[r * 2 * DI + DI + d];
  const scan = selectiveScanRef(
    { B, L, DI, N, G: 1 },
    {
      u,
      delta: deltaRaw,
      A,
      Bm: { data: xDbl, rowStride: width, colOffset: R },
      Cm: { data: xDbl, rowStride: width, colOffset: R + N },
      D: p.D,
      z,
      deltaBias: p.dtProjBias,
      deltaSoftplus: true,
      h0: initial?.ssmState ?? null,
    },
  );
  const out = linear(scan.out, rows, DI, 0, DI, p.outProj, D);

  const convState = new Float32Array(B * DI * K);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      for (let k = 0; k < K; k++) {
        const t = L - K + k;
        let value = 0;
        if (t >= 0) value = xz[(t * B + b) * 2 * DI + d];
        else if (initial) value = initial.convState[(b * DI + d) * K + K + t];
        convState[(b * DI + d) * K + k] = value;
      }
    }
  }
  return { xz, u, xDbl, deltaRaw, y: scan.out, out, ssmState: scan.hLast, convState, stateNorms: scan.stateNorms };
}

/** RMSNorm over rows of width D: x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNormRef(x: Float32Array, rows: number, D: number, weight: Float32Array, eps: number): Float32Array {
  const out = new Float32Array(rows * D);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let i = 0; i < D; i++) squares += x[r * D + i] ** 2;
    const scale = 1 / Math.sqrt(squares / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = x[r * D + i] * scale * weight[i];
  }
  return out;
}

export function blockParameters(config: ModelConfig, params: ParameterMap, layer: number): BlockParameters {
  const names = layerParameterNames(layer);
  const get = (name: string) => {
    const value = params.get(name);
    if (!value) throw new Error(`parameter ${name} is missing`);
    return value;
  };
  return {
    inProj: get(names.inProj),
    convWeight: get(names.convWeight),
    convBias: get(names.convBias),
    xProjWeight: config.selective[layer] ? get(names.xProjWeight) : null,
    xProjBias: config.selective[layer] ? null : get(names.xProjBias),
    dtProjWeight: get(names.dtProjWeight),
    dtProjBias: get(names.dtProjBias),
    aLog: get(names.aLog),
    D: get(names.D),
    outProj: get(names.outProj),
  };
}

export interface ModelForward {
  /** Logits (L, B, V). */
  logits: Float32Array;
  /** Per layer: SSM state (B, DI, N) and conv state (B, DI, K) after the last step. */
  states: Array<{ ssmState: Float32Array; convState: Float32Array }>;
  /** Per layer, (L, B, DI) each: delta after softplus, the gate silu(z), ||h_t||. */
  traces: Array<{ delta: Float32Array; gate: Float32Array; stateNorm: Float32Array }>;
}

/** Forward of the language model on codes (L, B), time-major. */
export function modelForwardRef(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): ModelForward {
  requireFlatBackbone(config, 'modelForwardRef (sashimiForwardRef in reference/sashimi.ts is the U-Net\'s)');
  const L = codes.length / B;
  const { dModel: D, dState: N, dtRank: R, dConv: K, vocabSize: V } = config;
  const DI = innerWidth(config);
  const rows = L * B;
  const embedding = params.get(EMBEDDING)!;
  let x = new Float32Array(rows * D);
  for (let r = 0; r < rows; r++) x.set(embedding.subarray(codes[r] * D, (codes[r] + 1) * D), r * D);

  const states: ModelForward['states'] = [];
  const traces: ModelForward['traces'] = [];
  for (let layer = 0; layer < config.nLayers; layer++) {
    const normed = rmsNormRef(x, rows, D, params.get(layerParameterNames(layer).norm)!, config.rmsNormEps);
    const block = mambaBlockRef({ B, L, D, DI, N, R, K }, blockParameters(config, params, layer), normed);
    const next = new Float32Array(rows * D);
    for (let i = 0; i < next.length; i++) next[i] = x[i] + block.out[i];
    x = next;
    states.push({ ssmState: block.ssmState, convState: block.convState });
    const bias = params.get(layerParameterNames(layer).dtProjBias)!;
    const delta = new Float32Array(rows * DI);
    const gate = new Float32Array(rows * DI);
    for (let r = 0; r < rows; r++) {
      for (let d = 0; d < DI; d++) {
        const raw = block.deltaRaw[r * DI + d] + bias[d];
        delta[r * DI + d] = raw > 20 ? raw : Math.log1p(Math.exp(raw));
        gate[r * DI + d] = silu(block.xz[r * 2 * DI + DI + d]);
      }
    }
    traces.push({ delta, gate, stateNorm: block.stateNorms });
  }
  const normed = rmsNormRef(x, rows, D, params.get(FINAL_NORM)!, config.rmsNormEps);
  const logits = linear(normed, rows, D, 0, D, params.get(HEAD)!, V);
  return { logits, states, traces };
}
