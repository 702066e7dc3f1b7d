// CPU reference of the causal depthwise conv1d with bias and SiLU, in float64 over float32
// data: forward, backward, the recurrent step and the state after a forward pass.
// Rows are time-major, row t * B + b; x is read through a strided view, as xz[:, 0:DI].
import { siluGradRef, siluRef } from './elementwise';
import type { ArrayView } from './matmul';

export interface ConvDimsRef {
  B: number;
  L: number;
  DI: number;
  K: number;
}

/**
 * Input at time t (possibly negative) of sequence b, channel d: x for t >= 0, else entry
 * K + t of the initial state (B, DI, K), or 0 without one.
 */
function inputAt(dims: ConvDimsRef, x: ArrayView, state: Float32Array | null, t: number, b: number, d: number): number {
  if (t >= 0) return x.data[x.colOffset + (t * dims.B + b) * x.rowStride + d];
  if (!state) return 0;
  return state[(b * dims.DI + d) * dims.K + dims.K + t];
}

/** Returns pre = conv(x) + bias and out = silu(pre), both (L * B, DI). */
export function conv1dRef(
  dims: ConvDimsRef,
  x: ArrayView,
  weight: Float32Array,
  bias: Float32Array,
  state: Float32Array | null = null,
): { pre: Float32Array; out: Float32Array } {
  const { B, L, DI, K } = dims;
  const pre = new Float32Array(L * B * DI);
  const out = new Float32Array(L * B * DI);
  for (let t = 0; t < L; t++) {
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < DI; d++) {
        let sum = bias[d];
        for (let k = 0; k < K; k++) sum += weight[d * K + k] * inputAt(dims, x, state, t - K + 1 + k, b, d);
        const index = (t * B + b) * DI + d;
        pre[index] = sum;
        out[index] = siluRef(sum);
      }
    }
  }
  return { pre, out };
}

/**
 * Gradients of sum(silu(conv(x) + bias) * dOut) with respect to x (L * B, DI), the
 * weight (DI, K) and the bias (DI).
 */
export function conv1dBackwardRef(
  dims: ConvDimsRef,
  x: ArrayView,
  weight: Float32Array,
  bias: Float32Array,
  dOut: Float32Array,
  state: Float32Array | null = null,
): { dx: Float32Array; dWeight: Float32Array; dBias: Float32Array } {
  const { B, L, DI, K } = dims;
  const { pre } = conv1dRef(dims, x, weight, bias, state);
  const g = new Float64Array(L * B * DI);
  for (let i = 0; i < g.length; i++) g[i] = dOut[i] * siluGradRef(pre[i]);

  const dx = new Float64Array(L * B * DI);
  const dWeight = new Float64Array(DI * K);
  const dBias = new Float64Array(DI);
  for (let t = 0; t < L; t++) {
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < DI; d++) {
        const gradient = g[(t * B + b) * DI + d];
        dBias[d] += gradient;
        for (let k = 0; k < K; k++) {
          const source = t - K + 1 + k;
          dWeight[d * K + k] += gradient * inputAt(dims, x, state, source, b, d);
          if (source >= 0) dx[(source * B + b) * DI + d] += gradient * weight[d * K + k];
        }
      }
    }
  }
  return { dx: Float32Array.from(dx), dWeight: Float32Array.from(dWeight), dBias: Float32Array.from(dBias) };
}

/**
 * Runs one step: shifts each (b, d) state left, appends x (B, DI) and returns silu(conv)
 * (B, DI). Updates `state` in place.
 */
export function conv1dStepRef(B: number, DI: number, K: number, x: ArrayView, weight: Float32Array, bias: Float32Array, state: Float32Array): Float32Array {
  const out = new Float32Array(B * DI);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      const base = (b * DI + d) * K;
      for (let k = 0; k + 1 < K; k++) state[base + k] = state[base + k + 1];
      state[base + K - 1] = x.data[x.colOffset + b * x.rowStride + d];
      let sum = bias[d];
      for (let k = 0; k < K; k++) sum += weight[d * K + k] * state[base + k];
      out[b * DI + d] = siluRef(sum);
    }
  }
  return out;
}

/**
 * Returns the state (B, DI, K) after a pass over x: inputs L - K .. L - 1, where times
 * before 0 read the initial `state` (or zero without one).
 */
export function conv1dStateRef(dims: ConvDimsRef, x: ArrayView, state: Float32Array | null = null): Float32Array {
  const { B, L, DI, K } = dims;
  const next = new Float32Array(B * DI * K);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      for (let k = 0; k < K; k++) next[(b * DI + d) * K + k] = inputAt(dims, x, state, L - K + k, b, d);
    }
  }
  return next;
}
