// Causal depthwise conv1d + SiLU: the CPU reference against the authors' Mamba block
// (conv output, conv state after a forward, recurrent steps, prefill then step) and
// against finite differences, then the WGSL kernels against the reference.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError, type GpuContext } from '../../gpu/context';
import { encodeConv1d } from '../../gpu/kernels/conv1d';
import { encodeConv1dBackward } from '../../gpu/kernels/conv1d_backward';
import { encodeConv1dState } from '../../gpu/kernels/conv1d_state';
import { encodeConv1dStep } from '../../gpu/kernels/conv1d_step';
import { wholeMatrix } from '../../gpu/kernels/matrix_view';
import { Workspace } from '../../gpu/kernels/workspace';
import { conv1dBackwardRef, conv1dRef, conv1dStateRef, conv1dStepRef, type ConvDimsRef } from '../../gpu/reference/conv1d';
import type { ArrayView } from '../../gpu/reference/matmul';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';
import { f32, loadOracle } from '../support/oracle';
import { toTimeMajor } from '../support/scan-cases';

const FORWARD = { rtol: 1e-5, atol: 1e-6 };
const GRADIENT = { rtol: 1e-4, atol: 1e-6 };

/** Returns the oracle block's conv inputs and outputs in the engine's layout. */
function blockConv(file: string) {
  const oracle = loadOracle(file);
  const [batch, L] = oracle.input.shape as number[];
  const DI = oracle.config.d_inner as number;
  const K = oracle.config.d_conv as number;
  const inter = oracle.intermediates;
  const xz = toTimeMajor(f32(inter.xz), batch, 2 * DI, L);
  return {
    dims: { B: batch, L, DI, K },
    xz,
    x: { data: xz, rowStride: 2 * DI, colOffset: 0 },
    weight: f32(oracle.params['conv1d.weight']),
    bias: f32(oracle.params['conv1d.bias']),
    u: toTimeMajor(f32(inter.x_conv_silu), batch, DI, L),
    stateAfter: f32(inter.conv_state_after_forward),
    stepFinalState: f32(oracle.step.final_conv_state),
    prefill: oracle.prefill_then_step.prefill_len as number,
  };
}

/** Returns the rows from time t0 on of a time-major view, as a view of their own. */
function timeSlice(view: ArrayView, B: number, t0: number): ArrayView {
  return { data: view.data, rowStride: view.rowStride, colOffset: view.colOffset + t0 * B * view.rowStride };
}

describe('conv1d CPU reference against the Mamba block oracle', () => {
  for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
    test(`forward, state and steps of ${file}`, () => {
      const c = blockConv(file);
      const { B, L, DI, K } = c.dims;
      assertClose(conv1dRef(c.dims, c.x, c.weight, c.bias).out, c.u, FORWARD, 'silu(conv1d(x))');
      assertClose(conv1dStateRef(c.dims, c.x), c.stateAfter, { rtol: 0, atol: 0 }, 'conv state after forward');

      // Stepping every token from a zero state reproduces the forward and its final state.
      const state = new Float32Array(B * DI * K);
      for (let t = 0; t < L; t++) {
        const out = conv1dStepRef(B, DI, K, timeSlice(c.x, B, t), c.weight, c.bias, state);
        assertClose(out, c.u.subarray(t * B * DI, (t + 1) * B * DI), FORWARD, `step ${t}`);
      }
      assertClose(state, c.stepFinalState, { rtol: 0, atol: 0 }, 'state after stepping');

      // Prefill then step: the state after the first P tokens continues the sequence.
      const P = c.prefill;
      const resumed = conv1dStateRef({ B, L: P, DI, K }, c.x);
      for (let t = P; t < L; t++) {
        const out = conv1dStepRef(B, DI, K, timeSlice(c.x, B, t), c.weight, c.bias, resumed);
        assertClose(out, c.u.subarray(t * B * DI, (t + 1) * B * DI), FORWARD, `step ${t} after prefill`);
      }
    });
  }

  test('backward matches central differences', () => {
    const rng = new Rng(3);
    const dims = { B: 2, L: 5, DI: 3, K: 4 };
    const rows = dims.L * dims.B;
    const data = Float32Array.from({ length: rows * 5 }, () => rng.normal());
    const x = { data, rowStride: 5, colOffset: 1 };
    const weight = Float32Array.from({ length: dims.DI * dims.K }, () => rng.normal(0, 0.5));
    const bias = Float32Array.from({ length: dims.DI }, () => rng.normal(0, 0.5));
    const state = Float32Array.from({ length: dims.B * dims.DI * dims.K }, () => rng.normal());
    const dOut = Float32Array.from({ length: rows * dims.DI }, () => rng.normal());
    const grads = conv1dBackwardRef(dims, x, weight, bias, dOut, state);

    // Loss in float64 for perturbed copies of the inputs.
    const loss = (xs: Float64Array, w: Float64Array, bs: Float64Array): number => {
      let total = 0;
      for (let t = 0; t < dims.L; t++) {
        for (let b = 0; b < dims.B; b++) {
          for (let d = 0; d < dims.DI; d++) {
            let sum = bs[d];
            for (let k = 0; k < dims.K; k++) {
              const source = t - dims.K + 1 + k;
              const input = source >= 0 ? xs[1 + (source * dims.B + b) * 5 + d] : state[(b * dims.DI + d) * dims.K + dims.K + source];
              sum += w[d * dims.K + k] * input;
            }
            total += (sum / (1 + Math.exp(-sum))) * dOut[(t * dims.B + b) * dims.DI + d];
          }
        }
      }
      return total;
    };
    const numeric = (values: Float64Array, index: number, evaluate: () => number): number => {
      const saved = values[index];
      values[index] = saved + 1e-6;
      const plus = evaluate();
      values[index] = saved - 1e-6;
      const minus = evaluate();
      values[index] = saved;
      return (plus - minus) / 2e-6;
    };
    const xs = Float64Array.from(data);
    const w = Float64Array.from(weight);
    const bs = Float64Array.from(bias);
    const evaluate = () => loss(xs, w, bs);
    for (let r = 0; r < rows; r++) {
      for (let d = 0; d < dims.DI; d++) {
        const expected = numeric(xs, 1 + r * 5 + d, evaluate);
        assert.ok(Math.abs(expected - grads.dx[r * dims.DI + d]) < 1e-5, `dx[${r}, ${d}] = ${grads.dx[r * dims.DI + d]}, finite difference ${expected}`);
      }
    }
    for (let i = 0; i < w.length; i++) {
      const expected = numeric(w, i, evaluate);
      assert.ok(Math.abs(expected - grads.dWeight[i]) < 1e-5, `dWeight[${i}] = ${grads.dWeight[i]}, finite difference ${expected}`);
    }
    for (let d = 0; d < bs.length; d++) {
      const expected = numeric(bs, d, evaluate);
      assert.ok(Math.abs(expected - grads.dBias[d]) < 1e-5, `dBias[${d}] = ${grads.dBias[d]}, finite difference ${expected}`);
    }
  });
});

describe('conv1d on the GPU', () => {
  for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
    gpuTest(`forward, state and steps of ${file}`, async (ctx) => {
      const c = blockConv(file);
      const { B, L, DI, K } = c.dims;
      const rows = L * B;
      const xz = ctx.tensor('xz', [rows, 2 * DI], c.xz);
      const xView = { tensor: xz, rowStride: 2 * DI, colOffset: 0 };
      const weight = ctx.tensor('conv1d.weight', [DI, K], c.weight);
      const bias = ctx.tensor('conv1d.bias', [DI], c.bias);
      const u = ctx.tensor('u', [rows, DI]);
      encodeConv1d(ctx, { ...c.dims, x: xView, weight, bias, out: wholeMatrix(u, DI) });
      assertClose(await ctx.read(u), c.u, FORWARD, 'silu(conv1d(x))');

      const state = ctx.tensor('conv state', [B, DI, K], new Float32Array(B * DI * K).fill(99));
      encodeConv1dState(ctx, { ...c.dims, x: xView, state });
      assertClose(await ctx.read(state), c.stateAfter, { rtol: 0, atol: 0 }, 'conv state after forward');

      // Prefill P tokens, then step the rest one token per dispatch.
      const P = c.prefill;
      encodeConv1dState(ctx, { B, L: P, DI, K, x: xView, state });
      const stepOut = ctx.tensor('step out', [L, B, DI]);
      for (let t = P; t < L; t++) {
        encodeConv1dStep(ctx, {
          B,
          DI,
          K,
          x: { tensor: xz, rowStride: 2 * DI, colOffset: t * B * 2 * DI },
          weight,
          bias,
          state,
          out: { tensor: stepOut, rowStride: DI, colOffset: t * B * DI },
        });
      }
      const stepped = await ctx.read(stepOut, P * B * DI);
      assertClose(stepped, c.u.subarray(P * B * DI), FORWARD, 'steps after prefill');
      assertClose(await ctx.read(state), c.stepFinalState, { rtol: 0, atol: 0 }, 'final conv state');
    });
  }

  // B, L, DI, K: single sequence and single step, L < K, K = 1, K = 8, DI not a multiple of 64.
  const shapes: ConvDimsRef[] = [
    { B: 1, L: 1, DI: 1, K: 4 },
    { B: 2, L: 3, DI: 5, K: 4 },
    { B: 1, L: 7, DI: 70, K: 1 },
    { B: 3, L: 11, DI: 33, K: 8 },
    { B: 2, L: 40, DI: 130, K: 4 },
  ];
  for (const dims of shapes) {
    for (const withState of [false, true]) {
      const name = `B=${dims.B} L=${dims.L} DI=${dims.DI} K=${dims.K}${withState ? ' with initial state' : ''}`;
      gpuTest(`forward and backward, ${name}`, (ctx) => checkAgainstReference(ctx, dims, withState, 1e-6));
    }
  }

  gpuTest('backward over 16,384 rows', (ctx) => checkAgainstReference(ctx, { B: 4, L: 4096, DI: 64, K: 4 }, false, 2e-5), { timeout: 120_000 });

  gpuTest('invalid arguments raise ShapeError', async (ctx) => {
    const x = ctx.tensor('x', [8, 4]);
    const w = ctx.tensor('weight', [4, 4]);
    const b = ctx.tensor('bias', [4]);
    const out = ctx.tensor('out', [8, 4]);
    const base = { B: 2, L: 4, DI: 4, K: 4, x: wholeMatrix(x, 4), weight: w, bias: b, out: wholeMatrix(out, 4) };
    assert.throws(() => encodeConv1d(ctx, { ...base, K: 9 }), ShapeError, 'K above 8');
    assert.throws(() => encodeConv1d(ctx, { ...base, L: 5 }), ShapeError, 'x too short');
    assert.throws(() => encodeConv1d(ctx, { ...base, out: wholeMatrix(x, 4) }), ShapeError, 'out aliases x');
    assert.throws(() => encodeConv1d(ctx, { ...base, state: ctx.tensor('state', [3]) }), ShapeError, 'state too small');
  });
});

/**
 * Runs forward (with pre), backward (accumulating into dx and the parameter gradients) on
 * random data with strided input and output views, and compares with the reference.
 */
async function checkAgainstReference(ctx: GpuContext, dims: ConvDimsRef, withState: boolean, gradientAtol: number): Promise<void> {
  const { B, L, DI, K } = dims;
  const rows = L * B;
  const rng = new Rng(B * 1000 + L * 10 + DI + K + (withState ? 7 : 0));
  const normals = (length: number, std = 1) => Float32Array.from({ length }, () => rng.normal(0, std));
  // x = a[:, 2:2+DI] of a (rows, DI + 3) tensor, as x_in is a column slice of xz.
  const a = normals(rows * (DI + 3));
  const xView = { data: a, rowStride: DI + 3, colOffset: 2 };
  const weight = normals(DI * K, 0.5);
  const bias = normals(DI, 0.5);
  const state = withState ? normals(B * DI * K) : null;
  const dOut = normals(rows * DI);
  const dxInitial = normals(rows * (DI + 1));
  const dWeightInitial = normals(DI * K);
  const dBiasInitial = normals(DI);
  const expected = conv1dRef(dims, xView, weight, bias, state);
  const grads = conv1dBackwardRef(dims, xView, weight, bias, dOut, state);

  const aTensor = ctx.tensor('a', [rows, DI + 3], a);
  const x = { tensor: aTensor, rowStride: DI + 3, colOffset: 2 };
  const weightTensor = ctx.tensor('weight', [DI, K], weight);
  const biasTensor = ctx.tensor('bias', [DI], bias);
  const stateTensor = state ? ctx.tensor('state', [B, DI, K], state) : null;
  const out = ctx.tensor('out', [rows, DI]);
  const pre = ctx.tensor('pre', [rows, DI]);
  encodeConv1d(ctx, { ...dims, x, weight: weightTensor, bias: biasTensor, state: stateTensor, out: wholeMatrix(out, DI), pre: wholeMatrix(pre, DI) });
  assertClose(await ctx.read(out), expected.out, FORWARD, 'out');
  assertClose(await ctx.read(pre), expected.pre, FORWARD, 'pre');

  // dx goes to columns 1..DI of a (rows, DI + 1) tensor, accumulating.
  const dOutTensor = ctx.tensor('dOut', [rows, DI], dOut);
  const dx = ctx.tensor('dx', [rows, DI + 1], dxInitial);
  const dWeight = ctx.tensor('dWeight', [DI, K], dWeightInitial);
  const dBias = ctx.tensor('dBias', [DI], dBiasInitial);
  const workspace = new Workspace(ctx);
  const backward = {
    ...dims,
    x,
    weight: weightTensor,
    bias: biasTensor,
    state: stateTensor,
    dOut: wholeMatrix(dOutTensor, DI),
    dx: { tensor: dx, rowStride: DI + 1, colOffset: 1 },
    dWeight,
    dBias,
    workspace,
  };
  encodeConv1dBackward(ctx, { ...backward, pre: wholeMatrix(pre, DI), accumulate: true, accumulateParams: true });
  const dxExpected = Float32Array.from(dxInitial);
  for (let r = 0; r < rows; r++) for (let d = 0; d < DI; d++) dxExpected[r * (DI + 1) + 1 + d] += grads.dx[r * DI + d];
  const tolerance = { rtol: GRADIENT.rtol, atol: gradientAtol };
  assertClose(await ctx.read(dx), dxExpected, tolerance, 'dx accumulated');
  assertClose(await ctx.read(dWeight), grads.dWeight.map((value, i) => value + dWeightInitial[i]), tolerance, 'dWeight accumulated');
  assertClose(await ctx.read(dBias), grads.dBias.map((value, i) => value + dBiasInitial[i]), tolerance, 'dBias accumulated');

  // Without a saved pre-activation the backward recomputes it.
  encodeConv1dBackward(ctx, backward);
  assertClose(await ctx.read(dWeight), grads.dWeight, tolerance, 'dWeight, pre recomputed');
  assertClose(await ctx.read(dBias), grads.dBias, tolerance, 'dBias, pre recomputed');
}
