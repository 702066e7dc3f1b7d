// Element-wise ops: the CPU reference and the WGSL kernel against PyTorch's softplus and
// SiLU vectors, then the kernel against the reference on strided views.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError, type GpuContext } from '../../gpu/context';
import { encodeAddInPlace, encodeElementwise, type ElementwiseOp } from '../../gpu/kernels/elementwise';
import { wholeMatrix } from '../../gpu/kernels/matrix_view';
import { elementwiseRef, siluGradRef, siluRef, softplusGradRef, softplusRef } from '../../gpu/reference/elementwise';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';
import { f32, loadOracle } from '../support/oracle';

// Smallest normal float32. Below it PyTorch's float32 arithmetic and the float64 reference
// round differently (silu(-100) is 0 in float32, -3.7e-42 exactly), and a GPU may flush
// subnormals to zero, so comparisons allow that much absolute error.
const SMALLEST_NORMAL = 1.1754944e-38;

// The WGSL spec's accuracy table lets f32 exp(x) be off by 3 + 2|x| ULP, about 1e-5
// relative at |x| = 80, so values built on exp of a large argument get rtol 1e-5.
const GPU_EXP = { rtol: 1e-5, atol: SMALLEST_NORMAL };

/** Returns the oracle's input and output vectors of one function, infinities included. */
function numerics(name: 'softplus' | 'silu') {
  const entry = loadOracle('numerics.json')[name];
  return { x: f32(entry.x), y: f32(entry.y) };
}

describe('element-wise CPU reference against PyTorch', () => {
  test('softplus vectors', () => {
    const { x, y } = numerics('softplus');
    const actual = x.map((value) => Math.fround(softplusRef(value)));
    assertClose(actual, y, { rtol: 1.2e-7, atol: SMALLEST_NORMAL }, 'softplus');
  });

  test('silu vectors', () => {
    const { x, y } = numerics('silu');
    const actual = x.map((value) => Math.fround(siluRef(value)));
    assertClose(actual, y, { rtol: 1.2e-7, atol: SMALLEST_NORMAL }, 'silu');
  });

  test('softplus inverts the dt bias init', () => {
    const entry = loadOracle('numerics.json').dt_init_inverse_softplus;
    const actual = f32(entry.inv_dt).map((value) => Math.fround(softplusRef(value)));
    assertClose(actual, f32(entry.softplus_inv_dt), { rtol: 1.2e-7, atol: 0 }, 'softplus(inv_dt)');
  });

  test('derivatives match central differences', () => {
    const step = 1e-5;
    for (const x of [-30, -5, -1, -0.1, 0, 0.3, 2, 7, 19.5, 25]) {
      const silu = (siluRef(x + step) - siluRef(x - step)) / (2 * step);
      assert.ok(Math.abs(siluGradRef(x) - silu) < 1e-8, `silu'(${x}) = ${siluGradRef(x)}, finite difference ${silu}`);
      const softplus = (softplusRef(x + step) - softplusRef(x - step)) / (2 * step);
      assert.ok(Math.abs(softplusGradRef(x) - softplus) < 1e-8, `softplus'(${x}) = ${softplusGradRef(x)}, finite difference ${softplus}`);
    }
  });
});

/** Runs a unary op on a 1-D vector and returns the result. */
async function runUnary(ctx: GpuContext, op: ElementwiseOp, x: Float32Array): Promise<Float32Array> {
  const input = ctx.tensor('x', [x.length], x);
  const out = ctx.tensor('out', [x.length]);
  encodeElementwise(ctx, { op, rows: 1, cols: x.length, x: wholeMatrix(input, x.length), out: wholeMatrix(out, x.length) });
  return ctx.read(out);
}

describe('element-wise kernel on the GPU', () => {
  gpuTest('softplus against PyTorch', async (ctx) => {
    const { x, y } = numerics('softplus');
    assertClose(await runUnary(ctx, 'softplus', x), y, GPU_EXP, 'softplus');
  });

  gpuTest('silu against PyTorch', async (ctx) => {
    const { x, y } = numerics('silu');
    assertClose(await runUnary(ctx, 'silu', x), y, GPU_EXP, 'silu');
  });

  gpuTest('softplus of the dt bias init', async (ctx) => {
    const entry = loadOracle('numerics.json').dt_init_inverse_softplus;
    assertClose(await runUnary(ctx, 'softplus', f32(entry.inv_dt)), f32(entry.softplus_inv_dt), { rtol: 1e-6, atol: 0 }, 'softplus(inv_dt)');
  });

  gpuTest('softplus keeps precision far below zero', async (ctx) => {
    // log(1 + exp(x)) in float32 returns 0 below x = -17; the kernel must not.
    const x = Float32Array.from([-80, -60, -40, -30, -25, -20, -17.5, -17, -16, -12, -8, -3, -1e-3, 1e-3, 3, 8, 15, 19.9, 20, 20.5]);
    const expected = x.map((value) => softplusRef(value));
    assertClose(await runUnary(ctx, 'softplus', x), expected, GPU_EXP, 'softplus');
  });

  const ops: ElementwiseOp[] = ['scale', 'add', 'mul', 'silu', 'siluBackward', 'softplus', 'softplusBackward'];
  for (const op of ops) {
    for (const accumulate of [false, true]) {
      gpuTest(`${op} on strided views${accumulate ? ', accumulate' : ''}`, async (ctx) => {
        // x = a[:, 2:21] of a (37, 24) tensor, y a single row repeated (rowStride 0),
        // out = c[:, 5:24] of a (37, 30) tensor.
        const rng = new Rng(op.length * 31 + (accumulate ? 1 : 0));
        const rows = 37;
        const cols = 19;
        const a = Float32Array.from({ length: rows * 24 }, () => rng.normal(0, 4));
        const row = Float32Array.from({ length: cols + 3 }, () => rng.normal(0, 1));
        const initial = Float32Array.from({ length: rows * 30 }, () => rng.normal(0, 1));
        const alpha = -0.75;
        const expected = Float32Array.from(initial);
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            const value = elementwiseRef(op, a[2 + i * 24 + j], row[3 + j], alpha);
            const index = 5 + i * 30 + j;
            expected[index] = accumulate ? expected[index] + value : value;
          }
        }

        const aTensor = ctx.tensor('a', [rows, 24], a);
        const rowTensor = ctx.tensor('row', [cols + 3], row);
        const out = ctx.tensor('out', [rows, 30], initial);
        encodeElementwise(ctx, {
          op,
          rows,
          cols,
          x: { tensor: aTensor, rowStride: 24, colOffset: 2 },
          y: { tensor: rowTensor, rowStride: 0, colOffset: 3 },
          out: { tensor: out, rowStride: 30, colOffset: 5 },
          alpha,
          accumulate,
        });
        assertClose(await ctx.read(out), expected, { rtol: 1e-5, atol: 1e-6 }, op);
      });
    }
  }

  gpuTest('runs of elements across rows', async (ctx) => {
    // 3000 x 37 elements: each invocation handles several consecutive elements, and runs
    // cross row ends inside strided views.
    const rng = new Rng(21);
    const rows = 3000;
    const cols = 37;
    const a = Float32Array.from({ length: rows * 40 }, () => rng.normal());
    const b = Float32Array.from({ length: rows * 39 }, () => rng.normal());
    const expected = new Float32Array(rows * 41);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) expected[4 + i * 41 + j] = elementwiseRef('add', a[1 + i * 40 + j], b[2 + i * 39 + j], 0.5);
    }
    const aTensor = ctx.tensor('a', [rows, 40], a);
    const bTensor = ctx.tensor('b', [rows, 39], b);
    const out = ctx.tensor('out', [rows, 41]);
    encodeElementwise(ctx, {
      op: 'add',
      rows,
      cols,
      x: { tensor: aTensor, rowStride: 40, colOffset: 1 },
      y: { tensor: bTensor, rowStride: 39, colOffset: 2 },
      out: { tensor: out, rowStride: 41, colOffset: 4 },
      alpha: 0.5,
    });
    assertClose(await ctx.read(out), expected, { rtol: 1e-6, atol: 1e-7 }, 'x + 0.5 y');
  });

  gpuTest('residual add in place, one million elements', async (ctx) => {
    const rng = new Rng(2);
    const count = 1 << 20;
    const target = Float32Array.from({ length: count }, () => rng.normal());
    const source = Float32Array.from({ length: count }, () => rng.normal());
    const targetTensor = ctx.tensor('residual', [count], target);
    const sourceTensor = ctx.tensor('block output', [count], source);
    encodeAddInPlace(ctx, { target: wholeMatrix(targetTensor, 64), source: wholeMatrix(sourceTensor, 64), rows: count / 64, cols: 64 });
    const expected = target.map((value, i) => value + source[i]);
    assertClose(await ctx.read(targetTensor), expected, { rtol: 1e-6, atol: 0 }, 'x + out');
  });

  gpuTest('aliased output raises ShapeError', async (ctx) => {
    const t = ctx.tensor('t', [8]);
    const u = ctx.tensor('u', [8]);
    assert.throws(() => encodeElementwise(ctx, { op: 'silu', rows: 1, cols: 8, x: wholeMatrix(t, 8), out: wholeMatrix(t, 8) }), ShapeError);
    assert.throws(() => encodeElementwise(ctx, { op: 'add', rows: 1, cols: 8, x: wholeMatrix(u, 8), y: wholeMatrix(t, 8), out: { tensor: t, rowStride: 8, colOffset: 0 } }), ShapeError);
    assert.throws(() => encodeElementwise(ctx, { op: 'silu', rows: 2, cols: 8, x: wholeMatrix(u, 8), out: wholeMatrix(t, 8) }), ShapeError, 'view past the end');
  });
});
