// The tiled matmul and the linear layers built on it. The CPU reference is checked against
// the authors' Mamba block: in_proj, x_proj, dt_proj, out_proj and out_proj's weight
// gradient. The GPU kernel is checked against the CPU reference on those cases and on
// awkward shapes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { encodeLinearForward, encodeLinearInputGrad, encodeLinearWeightGrad, encodeMatmul, MAX_K_PER_SPLIT, planMatmul, planSubgroupTiling } from '../../gpu/kernels/matmul';
import { wholeMatrix } from '../../gpu/kernels/matrix_view';
import { Workspace } from '../../gpu/kernels/workspace';
import { linearForwardRef, linearInputGradRef, linearWeightGradRef, matmulRef, wholeArray } from '../../gpu/reference/matmul';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';
import { f32, loadOracle } from '../support/oracle';
import { toTimeMajor } from '../support/scan-cases';

const FORWARD = { rtol: 1e-5, atol: 1e-6 };

/** Reorders rows from (b, l) order, as the oracle's x_dbl, to time-major (l, b) order. */
function batchRowsToTimeMajor(data: Float32Array, batch: number, L: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < L; t++) out.set(data.subarray((b * L + t) * cols, (b * L + t + 1) * cols), (t * batch + b) * cols);
  }
  return out;
}

/** Returns the oracle block's tensors in the engine's time-major layout. */
function blockCase(file: string) {
  const oracle = loadOracle(file);
  const [batch, L, D] = oracle.input.shape as number[];
  const DI = oracle.config.d_inner as number;
  const N = oracle.config.d_state as number;
  const R = oracle.config.dt_rank as number;
  const rows = batch * L;
  const inter = oracle.intermediates;
  return {
    batch,
    L,
    D,
    DI,
    N,
    R,
    rows,
    x: batchRowsToTimeMajor(f32(oracle.input), batch, L, D),
    inProj: f32(oracle.params['in_proj.weight']),
    xProj: f32(oracle.params['x_proj.weight']),
    dtProj: f32(oracle.params['dt_proj.weight']),
    outProj: f32(oracle.params['out_proj.weight']),
    xz: toTimeMajor(f32(inter.xz), batch, 2 * DI, L),
    u: toTimeMajor(f32(inter.x_conv_silu), batch, DI, L),
    xDbl: batchRowsToTimeMajor(f32(inter.x_dbl), batch, L, R + 2 * N),
    dtRaw: toTimeMajor(f32(inter.dt_before_bias), batch, DI, L),
    yGated: toTimeMajor(f32(inter.y_gated), batch, DI, L),
    out: batchRowsToTimeMajor(f32(oracle.output), batch, L, D),
  };
}

function randomArray(rng: Rng, length: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (rng.uniform() * 2 - 1) * scale;
  return out;
}

describe('matmul CPU reference against the Mamba block oracle', () => {
  for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
    test(`linear layers of ${file}`, () => {
      const c = blockCase(file);
      const width = c.R + 2 * c.N;
      assertClose(linearForwardRef(c.rows, c.D, 2 * c.DI, wholeArray(c.x, c.D), c.inProj), c.xz, FORWARD, 'in_proj');
      assertClose(linearForwardRef(c.rows, c.DI, width, wholeArray(c.u, c.DI), c.xProj), c.xDbl, FORWARD, 'x_proj');
      // dt_proj reads the dt columns of x_dbl: a strided view.
      const dtView = { data: c.xDbl, rowStride: width, colOffset: 0 };
      assertClose(linearForwardRef(c.rows, c.R, c.DI, dtView, c.dtProj), c.dtRaw, FORWARD, 'dt_proj');
      assertClose(linearForwardRef(c.rows, c.DI, c.D, wholeArray(c.yGated, c.DI), c.outProj), c.out, FORWARD, 'out_proj');
    });
  }

  test('out_proj weight gradient', () => {
    const c = blockCase('mamba_block.json');
    const grads = loadOracle('mamba_block_grads.json').grads;
    const dout = batchRowsToTimeMajor(f32(grads.dout), c.batch, c.L, c.D);
    const expected = f32(grads.dparams['out_proj.weight']);
    assertClose(linearWeightGradRef(c.rows, c.DI, c.D, wholeArray(dout, c.D), wholeArray(c.yGated, c.DI)), expected, { rtol: 1e-4, atol: 1e-6 }, 'dW out_proj');
  });
});

describe('matmul on the GPU', () => {
  for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
    gpuTest(`block linear layers of ${file}`, async (ctx) => {
      const c = blockCase(file);
      const width = c.R + 2 * c.N;
      const x = ctx.tensor('x', [c.rows, c.D], c.x);
      const inProj = ctx.tensor('in_proj.weight', [2 * c.DI, c.D], c.inProj);
      const xz = ctx.tensor('xz', [c.rows, 2 * c.DI]);
      encodeLinearForward(ctx, { rows: c.rows, inDim: c.D, outDim: 2 * c.DI, x: wholeMatrix(x, c.D), weight: inProj, y: wholeMatrix(xz, 2 * c.DI) });
      assertClose(await ctx.read(xz), c.xz, FORWARD, 'in_proj');

      const u = ctx.tensor('u', [c.rows, c.DI], c.u);
      const xProj = ctx.tensor('x_proj.weight', [width, c.DI], c.xProj);
      const xDbl = ctx.tensor('x_dbl', [c.rows, width]);
      encodeLinearForward(ctx, { rows: c.rows, inDim: c.DI, outDim: width, x: wholeMatrix(u, c.DI), weight: xProj, y: wholeMatrix(xDbl, width) });
      const xDblGpu = await ctx.read(xDbl);
      assertClose(xDblGpu, c.xDbl, FORWARD, 'x_proj');

      const dtProj = ctx.tensor('dt_proj.weight', [c.DI, c.R], c.dtProj);
      const delta = ctx.tensor('delta', [c.rows, c.DI]);
      encodeLinearForward(ctx, { rows: c.rows, inDim: c.R, outDim: c.DI, x: { tensor: xDbl, rowStride: width, colOffset: 0 }, weight: dtProj, y: wholeMatrix(delta, c.DI) });
      assertClose(await ctx.read(delta), c.dtRaw, FORWARD, 'dt_proj');
    });
  }

  gpuTest('out_proj weight gradient of the block', async (ctx) => {
    const c = blockCase('mamba_block.json');
    const grads = loadOracle('mamba_block_grads.json').grads;
    const dout = ctx.tensor('dout', [c.rows, c.D], batchRowsToTimeMajor(f32(grads.dout), c.batch, c.L, c.D));
    const y = ctx.tensor('y_gated', [c.rows, c.DI], c.yGated);
    const dW = ctx.tensor('dW out_proj', [c.D, c.DI]);
    const workspace = new Workspace(ctx);
    encodeLinearWeightGrad(ctx, { rows: c.rows, inDim: c.DI, outDim: c.D, dy: wholeMatrix(dout, c.D), x: wholeMatrix(y, c.DI), dWeight: dW, workspace });
    assertClose(await ctx.read(dW), f32(grads.dparams['out_proj.weight']), { rtol: 1e-4, atol: 1e-6 }, 'dW out_proj');
  });

  // m, n, k chosen to miss every tile size (64 x 64 x 16), plus single rows and columns.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 37, 5],
    [67, 1, 19],
    [3, 130, 2],
    [130, 67, 33],
    [64, 64, 16],
    [65, 129, 17],
  ];
  for (const [m, n, k] of shapes) {
    for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false], [true, true]]) for (const kernel of ['auto', 'portable'] as const) {
      gpuTest(`${m}x${n}x${k} transposeA=${transposeA} transposeB=${transposeB}, ${kernel} kernel`, async (ctx) => {
        const rng = new Rng(m * 1000 + n * 10 + k);
        const a = randomArray(rng, m * k);
        const b = randomArray(rng, k * n);
        const aView = wholeArray(a, transposeA ? m : k);
        const bView = wholeArray(b, transposeB ? k : n);
        const expected = matmulRef(m, n, k, aView, bView, wholeArray(new Float32Array(m * n), n), { transposeA, transposeB });
        const aTensor = ctx.tensor('A', [m * k], a);
        const bTensor = ctx.tensor('B', [k * n], b);
        const c = ctx.tensor('C', [m, n]);
        encodeMatmul(ctx, {
          m,
          n,
          k,
          a: wholeMatrix(aTensor, transposeA ? m : k),
          transposeA,
          b: wholeMatrix(bTensor, transposeB ? k : n),
          transposeB,
          c: wholeMatrix(c, n),
          kernel,
        });
        assertClose(await ctx.read(c), expected, FORWARD, 'C');
      });
    }
  }

  gpuTest('column slices in and out, with accumulate', async (ctx) => {
    // x_in = xz[:, 3:3+K] of a (rows, 40) tensor; y written into out[:, 5:5+N] of a (rows, 50) tensor.
    const rng = new Rng(7);
    const rows = 70;
    const K = 21;
    const N = 35;
    const xz = randomArray(rng, rows * 40);
    const weight = randomArray(rng, N * K);
    const initial = randomArray(rng, rows * 50);
    const xView = { data: xz, rowStride: 40, colOffset: 3 };
    const expected = Float32Array.from(initial);
    matmulRef(rows, N, K, xView, wholeArray(weight, K), { data: expected, rowStride: 50, colOffset: 5 }, { transposeB: true, accumulate: true });

    const xzTensor = ctx.tensor('xz', [rows, 40], xz);
    const wTensor = ctx.tensor('W', [N, K], weight);
    const out = ctx.tensor('out', [rows, 50], initial);
    encodeLinearForward(ctx, {
      rows,
      inDim: K,
      outDim: N,
      x: { tensor: xzTensor, rowStride: 40, colOffset: 3 },
      weight: wTensor,
      y: { tensor: out, rowStride: 50, colOffset: 5 },
      accumulate: true,
    });
    // Columns outside 5..39 keep their initial values because `expected` started as a copy.
    assertClose(await ctx.read(out), expected, FORWARD, 'out with a column slice');
  });

  gpuTest('linear layer backward on strided views', async (ctx) => {
    const rng = new Rng(11);
    const rows = 150;
    const inDim = 40;
    const outDim = 36;
    const x = randomArray(rng, rows * (inDim + 8));
    const dy = randomArray(rng, rows * outDim);
    const weight = randomArray(rng, outDim * inDim);
    const xView = { data: x, rowStride: inDim + 8, colOffset: 8 };
    const dxExpected = linearInputGradRef(rows, inDim, outDim, wholeArray(dy, outDim), weight);
    const dWExpected = linearWeightGradRef(rows, inDim, outDim, wholeArray(dy, outDim), xView);

    const xTensor = ctx.tensor('x', [rows, inDim + 8], x);
    const dyTensor = ctx.tensor('dy', [rows, outDim], dy);
    const wTensor = ctx.tensor('W', [outDim, inDim], weight);
    const dx = ctx.tensor('dx', [rows, inDim]);
    const dW = ctx.tensor('dW', [outDim, inDim]);
    const workspace = new Workspace(ctx);
    encodeLinearInputGrad(ctx, { rows, inDim, outDim, dy: wholeMatrix(dyTensor, outDim), weight: wTensor, dx: wholeMatrix(dx, inDim) });
    encodeLinearWeightGrad(ctx, { rows, inDim, outDim, dy: wholeMatrix(dyTensor, outDim), x: { tensor: xTensor, rowStride: inDim + 8, colOffset: 8 }, dWeight: dW, workspace });
    assertClose(await ctx.read(dx), dxExpected, FORWARD, 'dx');
    assertClose(await ctx.read(dW), dWExpected, { rtol: 1e-4, atol: 1e-5 }, 'dW');

    // accumulate adds a second batch's gradient to the first.
    encodeLinearWeightGrad(ctx, { rows, inDim, outDim, dy: wholeMatrix(dyTensor, outDim), x: { tensor: xTensor, rowStride: inDim + 8, colOffset: 8 }, dWeight: dW, accumulate: true, workspace });
    assertClose(await ctx.read(dW), dWExpected.map((value) => 2 * value), { rtol: 1e-4, atol: 1e-5 }, 'dW accumulated');
  });

  gpuTest('split-K weight gradient over many rows', async (ctx) => {
    // 256 x 64 result summed over 6000 rows: few tiles, so planMatmul splits k.
    const rng = new Rng(5);
    const rows = 6000;
    const inDim = 64;
    const outDim = 256;
    const plan = planMatmul(ctx, outDim, inDim, rows);
    assert.ok(plan.splits > 1, `expected a split-K plan, got ${plan.splits} split`);

    const x = randomArray(rng, rows * inDim);
    const dy = randomArray(rng, rows * outDim);
    const expected = linearWeightGradRef(rows, inDim, outDim, wholeArray(dy, outDim), wholeArray(x, inDim));
    const xTensor = ctx.tensor('x', [rows, inDim], x);
    const dyTensor = ctx.tensor('dy', [rows, outDim], dy);
    const dW = ctx.tensor('dW', [outDim, inDim]);
    const workspace = new Workspace(ctx);
    encodeLinearWeightGrad(ctx, { rows, inDim, outDim, dy: wholeMatrix(dyTensor, outDim), x: wholeMatrix(xTensor, inDim), dWeight: dW, workspace });
    // Sums of 6000 products of values in (-1, 1): float32 rounding grows like sqrt(k).
    assertClose(await ctx.read(dW), expected, { rtol: 1e-4, atol: 2e-4 }, 'dW');
  });

  gpuTest('k beyond one pass needs a workspace', async (ctx) => {
    const k = MAX_K_PER_SPLIT + 100;
    const rng = new Rng(3);
    const a = randomArray(rng, 2 * k);
    const b = randomArray(rng, k * 3);
    const aTensor = ctx.tensor('A', [2, k], a);
    const bTensor = ctx.tensor('B', [k, 3], b);
    const c = ctx.tensor('C', [2, 3]);
    const args = { m: 2, n: 3, k, a: wholeMatrix(aTensor, k), b: wholeMatrix(bTensor, 3), c: wholeMatrix(c, 3) };
    assert.throws(() => encodeMatmul(ctx, args), ShapeError);

    encodeMatmul(ctx, { ...args, workspace: new Workspace(ctx) });
    const expected = matmulRef(2, 3, k, wholeArray(a, k), wholeArray(b, 3), wholeArray(new Float32Array(6), 3));
    assertClose(await ctx.read(c), expected, { rtol: 1e-4, atol: 1e-4 }, 'C');
  });

  gpuTest('large forward, 4096 rows', async (ctx) => {
    const rng = new Rng(9);
    const rows = 4096;
    const inDim = 64;
    const outDim = 256;
    const x = randomArray(rng, rows * inDim);
    const weight = randomArray(rng, outDim * inDim, 0.125);
    const expected = linearForwardRef(rows, inDim, outDim, wholeArray(x, inDim), weight);
    const xTensor = ctx.tensor('x', [rows, inDim], x);
    const wTensor = ctx.tensor('W', [outDim, inDim], weight);
    const y = ctx.tensor('y', [rows, outDim]);
    encodeLinearForward(ctx, { rows, inDim, outDim, x: wholeMatrix(xTensor, inDim), weight: wTensor, y: wholeMatrix(y, outDim) });
    assertClose(await ctx.read(y), expected, { rtol: 1e-5, atol: 2e-6 }, 'y');
  });

  gpuTest('invalid shapes raise ShapeError', async (ctx) => {
    const a = ctx.tensor('A', [4, 4]);
    const b = ctx.tensor('B', [4, 4]);
    const c = ctx.tensor('C', [4, 4]);
    const base = { m: 4, n: 4, k: 4, a: wholeMatrix(a, 4), b: wholeMatrix(b, 4), c: wholeMatrix(c, 4) };
    assert.throws(() => encodeMatmul(ctx, { ...base, m: 5 }), ShapeError, 'A too small');
    assert.throws(() => encodeMatmul(ctx, { ...base, c: { tensor: c, rowStride: 3, colOffset: 0 } }), ShapeError, 'overlapping output rows');
    assert.throws(() => encodeMatmul(ctx, { ...base, c: wholeMatrix(a, 4) }), ShapeError, 'output aliases A');
    assert.throws(() => encodeMatmul(ctx, { ...base, k: 0 }), ShapeError, 'k = 0');
    assert.throws(() => encodeMatmul(ctx, { ...base, a: { tensor: a, rowStride: 4, colOffset: 1 } }), ShapeError, 'view past the end');
  });
});

describe('subgroup matmul on training shapes', () => {
  gpuTest('tiling follows the shape', async (ctx) => {
    const inProj = planSubgroupTiling(ctx, 16384, 256);
    if (!ctx.device.features.has('subgroups')) {
      assert.equal(inProj, null, 'a device without subgroups must use the portable kernel');
      return;
    }
    assert.ok(inProj, 'a device with subgroups should use the subgroup kernel');
    assert.equal(inProj.transpose, false, 'lanes run along the 16384 rows');
    assert.equal(inProj.columns, 32);
    assert.equal(inProj.columns * inProj.rowsPerLane, 256, 'an invocation keeps 256 accumulators');
    assert.equal(planSubgroupTiling(ctx, 16384, 36)!.columns, 12, 'x_proj: 36 columns in 3 tiles of 12');
    assert.equal(planSubgroupTiling(ctx, 16384, 4)!.columns, 4, 'dt_proj input gradient: 4 columns');
    assert.equal(planSubgroupTiling(ctx, 36, 128)!.transpose, true, 'x_proj weight gradient: lanes along the 128 columns');
  });

  // The layers of one Mamba block (D = 64, DI = 128, R = 4, N = 16) over 4096 rows. Input
  // gradients accumulate, as x_proj's does into du, and dt_proj reads the dt columns of
  // x_dbl, a view with row stride 36.
  const rows = 4096;
  const cases: Array<{ name: string; inDim: number; outDim: number; xStride: number; xOffset: number }> = [
    { name: 'in_proj', inDim: 64, outDim: 256, xStride: 64, xOffset: 0 },
    { name: 'x_proj', inDim: 128, outDim: 36, xStride: 128, xOffset: 0 },
    { name: 'dt_proj', inDim: 4, outDim: 128, xStride: 36, xOffset: 0 },
    { name: 'out_proj', inDim: 128, outDim: 64, xStride: 128, xOffset: 0 },
  ];
  for (const c of cases) {
    gpuTest(`${c.name} forward and backward`, async (ctx) => {
      const rng = new Rng(c.inDim * 1000 + c.outDim);
      const x = randomArray(rng, rows * c.xStride);
      const weight = randomArray(rng, c.outDim * c.inDim, 0.25);
      const dy = randomArray(rng, rows * c.outDim);
      const dxInitial = randomArray(rng, rows * c.inDim);
      const xView = { data: x, rowStride: c.xStride, colOffset: c.xOffset };
      const yExpected = linearForwardRef(rows, c.inDim, c.outDim, xView, weight);
      const dxExpected = linearInputGradRef(rows, c.inDim, c.outDim, wholeArray(dy, c.outDim), weight).map((value, i) => value + dxInitial[i]);
      const dWExpected = linearWeightGradRef(rows, c.inDim, c.outDim, wholeArray(dy, c.outDim), xView);

      const xTensor = ctx.tensor('x', [rows, c.xStride], x);
      const wTensor = ctx.tensor('W', [c.outDim, c.inDim], weight);
      const dyTensor = ctx.tensor('dy', [rows, c.outDim], dy);
      const y = ctx.tensor('y', [rows, c.outDim]);
      const dx = ctx.tensor('dx', [rows, c.inDim], dxInitial);
      const dW = ctx.tensor('dW', [c.outDim, c.inDim]);
      const workspace = new Workspace(ctx);
      const xMatrix = { tensor: xTensor, rowStride: c.xStride, colOffset: c.xOffset };
      const dims = { rows, inDim: c.inDim, outDim: c.outDim };
      encodeLinearForward(ctx, { ...dims, x: xMatrix, weight: wTensor, y: wholeMatrix(y, c.outDim), workspace });
      encodeLinearInputGrad(ctx, { ...dims, dy: wholeMatrix(dyTensor, c.outDim), weight: wTensor, dx: wholeMatrix(dx, c.inDim), accumulate: true, workspace });
      encodeLinearWeightGrad(ctx, { ...dims, dy: wholeMatrix(dyTensor, c.outDim), x: xMatrix, dWeight: dW, workspace });
      assertClose(await ctx.read(y), yExpected, { rtol: 1e-5, atol: 2e-6 }, 'y');
      assertClose(await ctx.read(dx), dxExpected, { rtol: 1e-5, atol: 1e-5 }, 'dx accumulated');
      // Sums of 4096 products of values in (-1, 1): float32 rounding grows like sqrt(k).
      assertClose(await ctx.read(dW), dWExpected, { rtol: 1e-4, atol: 2e-4 }, 'dW');
    });
  }
});
