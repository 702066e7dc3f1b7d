// RMSNorm forward and backward: the CPU reference against finite differences, then the
// WGSL kernels against the reference, including accumulation into the residual gradient
// and a weight gradient split over blocks of rows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { encodeRmsNorm } from '../../gpu/kernels/rmsnorm';
import { encodeRmsNormBackward } from '../../gpu/kernels/rmsnorm_backward';
import { Workspace } from '../../gpu/kernels/workspace';
import { rmsNormBackwardRef, rmsNormRef } from '../../gpu/reference/rmsnorm';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

const FORWARD = { rtol: 1e-5, atol: 1e-6 };
const GRADIENT = { rtol: 1e-4, atol: 1e-6 };

function normals(rng: Rng, length: number, std = 1): Float32Array {
  return Float32Array.from({ length }, () => rng.normal(0, std));
}

/** Returns sum(RMSNorm(x) * weight * dy) in float64, the loss whose gradient the backward computes. */
function loss(rows: number, dim: number, x: Float64Array, weight: Float64Array, dy: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let sumSquares = 0;
    for (let j = 0; j < dim; j++) sumSquares += x[r * dim + j] ** 2;
    const inverse = 1 / Math.sqrt(sumSquares / dim + 1e-5);
    for (let j = 0; j < dim; j++) total += x[r * dim + j] * inverse * weight[j] * dy[r * dim + j];
  }
  return total;
}

describe('RMSNorm CPU reference', () => {
  test('backward matches central differences', () => {
    const rng = new Rng(1);
    const rows = 3;
    const dim = 7;
    const x = normals(rng, rows * dim);
    const weight = normals(rng, dim);
    const dy = normals(rng, rows * dim);
    const { dx, dWeight } = rmsNormBackwardRef(rows, dim, x, weight, dy);

    const step = 1e-6;
    const x64 = Float64Array.from(x);
    const w64 = Float64Array.from(weight);
    for (let i = 0; i < rows * dim; i++) {
      const saved = x64[i];
      x64[i] = saved + step;
      const plus = loss(rows, dim, x64, w64, dy);
      x64[i] = saved - step;
      const minus = loss(rows, dim, x64, w64, dy);
      x64[i] = saved;
      const numeric = (plus - minus) / (2 * step);
      assert.ok(Math.abs(numeric - dx[i]) < 1e-5 * (1 + Math.abs(numeric)), `dx[${i}] = ${dx[i]}, finite difference ${numeric}`);
    }

    for (let j = 0; j < dim; j++) {
      const saved = w64[j];
      w64[j] = saved + step;
      const plus = loss(rows, dim, x64, w64, dy);
      w64[j] = saved - step;
      const minus = loss(rows, dim, x64, w64, dy);
      w64[j] = saved;
      const numeric = (plus - minus) / (2 * step);
      assert.ok(Math.abs(numeric - dWeight[j]) < 1e-5 * (1 + Math.abs(numeric)), `dWeight[${j}] = ${dWeight[j]}, finite difference ${numeric}`);
    }
  });

  test('forward output has unit RMS before the weight', () => {
    const rng = new Rng(2);
    const dim = 64;
    const x = normals(rng, dim, 3);
    const { y } = rmsNormRef(1, dim, x, new Float32Array(dim).fill(1));
    const rms = Math.sqrt(y.reduce((sum, value) => sum + value * value, 0) / dim);
    assert.ok(Math.abs(rms - 1) < 1e-5, `RMS ${rms}`);
  });
});

describe('RMSNorm on the GPU', () => {
  // rows and dim: one row, dims not multiples of 64, and the model width 64.
  const shapes: Array<[number, number]> = [
    [1, 1],
    [1, 64],
    [5, 3],
    [130, 37],
    [300, 64],
  ];
  for (const [rows, dim] of shapes) {
    gpuTest(`forward and backward, ${rows} rows of ${dim}`, async (ctx) => {
      const rng = new Rng(rows * 100 + dim);
      const x = normals(rng, rows * dim, 2);
      const weight = normals(rng, dim);
      const dy = normals(rng, rows * dim);
      const dxInitial = normals(rng, rows * dim);
      const dWeightInitial = normals(rng, dim);
      const expected = rmsNormRef(rows, dim, x, weight);
      const grads = rmsNormBackwardRef(rows, dim, x, weight, dy);

      const xTensor = ctx.tensor('x', [rows, dim], x);
      const wTensor = ctx.tensor('weight', [dim], weight);
      const y = ctx.tensor('y', [rows, dim]);
      const rstd = ctx.tensor('rstd', [rows]);
      encodeRmsNorm(ctx, { rows, dim, x: xTensor, weight: wTensor, y, rstd });
      assertClose(await ctx.read(y), expected.y, FORWARD, 'y');
      assertClose(await ctx.read(rstd), expected.rstd, FORWARD, 'rstd');

      const dyTensor = ctx.tensor('dy', [rows, dim], dy);
      const dx = ctx.tensor('dx', [rows, dim], dxInitial);
      const dWeight = ctx.tensor('dWeight', [dim], dWeightInitial);
      const workspace = new Workspace(ctx);
      encodeRmsNormBackward(ctx, { rows, dim, x: xTensor, weight: wTensor, rstd, dy: dyTensor, dx, accumulate: true, dWeight, accumulateWeight: true, workspace });
      assertClose(await ctx.read(dx), grads.dx.map((value, i) => value + dxInitial[i]), GRADIENT, 'dx accumulated');
      assertClose(await ctx.read(dWeight), grads.dWeight.map((value, j) => value + dWeightInitial[j]), GRADIENT, 'dWeight accumulated');

      encodeRmsNormBackward(ctx, { rows, dim, x: xTensor, weight: wTensor, rstd, dy: dyTensor, dx, dWeight, workspace });
      assertClose(await ctx.read(dx), grads.dx, GRADIENT, 'dx');
      assertClose(await ctx.read(dWeight), grads.dWeight, GRADIENT, 'dWeight');
    });
  }

  gpuTest('weight gradient over 20,000 rows', async (ctx) => {
    const rng = new Rng(4);
    const rows = 20000;
    const dim = 64;
    const x = normals(rng, rows * dim);
    const weight = normals(rng, dim);
    const dy = normals(rng, rows * dim);
    const { rstd } = rmsNormRef(rows, dim, x, weight);
    const grads = rmsNormBackwardRef(rows, dim, x, weight, dy);
    const xTensor = ctx.tensor('x', [rows, dim], x);
    const wTensor = ctx.tensor('weight', [dim], weight);
    const rstdTensor = ctx.tensor('rstd', [rows], rstd);
    const dyTensor = ctx.tensor('dy', [rows, dim], dy);
    const dx = ctx.tensor('dx', [rows, dim]);
    const dWeight = ctx.tensor('dWeight', [dim]);
    encodeRmsNormBackward(ctx, { rows, dim, x: xTensor, weight: wTensor, rstd: rstdTensor, dy: dyTensor, dx, dWeight, workspace: new Workspace(ctx) });
    assertClose(await ctx.read(dx), grads.dx, GRADIENT, 'dx');
    // A sum of 20,000 terms of size ~1: float32 rounding grows like sqrt(rows).
    assertClose(await ctx.read(dWeight), grads.dWeight, { rtol: 1e-4, atol: 1e-4 }, 'dWeight');
  });

  gpuTest('invalid sizes raise ShapeError', async (ctx) => {
    const x = ctx.tensor('x', [4, 8]);
    const w = ctx.tensor('weight', [8]);
    const y = ctx.tensor('y', [4, 8]);
    const rstd = ctx.tensor('rstd', [4]);
    assert.throws(() => encodeRmsNorm(ctx, { rows: 5, dim: 8, x, weight: w, y, rstd }), ShapeError);
    assert.throws(() => encodeRmsNorm(ctx, { rows: 4, dim: 8, x, weight: w, y: x, rstd }), ShapeError);
    assert.throws(() => encodeRmsNorm(ctx, { rows: 4, dim: 0, x, weight: w, y, rstd }), ShapeError);
  });
});
