// The two-pass reductions shared by the gradient kernels: vector sums, column sums over
// rows and reduce_partials, plus the workspace that stores their partial sums.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { encodeColumnSums } from '../../gpu/kernels/column_sums';
import { wholeMatrix } from '../../gpu/kernels/matrix_view';
import { encodeReducePartials, planRowSplit } from '../../gpu/kernels/reduce_partials';
import { encodeSum } from '../../gpu/kernels/sum_partials';
import { Workspace } from '../../gpu/kernels/workspace';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

describe('reductions on the GPU', () => {
  for (const count of [0, 1, 255, 256, 100_000]) {
    gpuTest(`sum, weighted sum and sum of squares of ${count} elements`, async (ctx) => {
      const rng = new Rng(count + 1);
      const x = Float32Array.from({ length: count }, () => rng.normal());
      const w = Float32Array.from({ length: count }, () => rng.uniform());
      let sum = 0;
      let weighted = 0;
      let squares = 0;
      x.forEach((value, i) => {
        sum += value;
        weighted += value * w[i];
        squares += value * value;
      });
      const xTensor = ctx.tensor('x', [Math.max(count, 1)], x);
      const wTensor = ctx.tensor('w', [Math.max(count, 1)], w);
      const out = ctx.tensor('out', [3], Float32Array.from([7, 7, 7]));
      const workspace = new Workspace(ctx);
      encodeSum(ctx, { count, x: xTensor, scale: 0.5, out: { tensor: out, rowStride: 1, colOffset: 0 }, workspace });
      encodeSum(ctx, { count, x: xTensor, weights: wTensor, out: { tensor: out, rowStride: 1, colOffset: 1 }, workspace });
      encodeSum(ctx, { count, x: xTensor, square: true, out: { tensor: out, rowStride: 1, colOffset: 2 }, accumulate: true, workspace });
      // Sums of up to 1e5 unit normals: float32 rounding of ~1e-7 per addition.
      const atol = 1e-6 * Math.sqrt(count + 1) * 10;
      assertClose(await ctx.read(out), [0.5 * sum, weighted, 7 + squares], { rtol: 1e-5, atol }, 'sums');
    });
  }

  // rows, cols: one row, cols not multiples of 64, many rows.
  const shapes: Array<[number, number]> = [
    [1, 1],
    [1, 70],
    [100, 3],
    [5000, 36],
  ];
  for (const [rows, cols] of shapes) {
    gpuTest(`column sums of ${rows} x ${cols}`, async (ctx) => {
      const rng = new Rng(rows * 7 + cols);
      // x = a[:, 1:1+cols] of a (rows, cols + 2) tensor; out = b[0, 2:2+cols].
      const a = Float32Array.from({ length: rows * (cols + 2) }, () => rng.normal());
      const initial = Float32Array.from({ length: cols + 4 }, () => rng.normal());
      const expected = Float32Array.from(initial);
      const sums = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) sums[j] += a[r * (cols + 2) + 1 + j];
      for (let j = 0; j < cols; j++) expected[2 + j] += sums[j];

      const aTensor = ctx.tensor('a', [rows, cols + 2], a);
      const out = ctx.tensor('out', [cols + 4], initial);
      encodeColumnSums(ctx, {
        rows,
        cols,
        x: { tensor: aTensor, rowStride: cols + 2, colOffset: 1 },
        out: { tensor: out, rowStride: cols, colOffset: 2 },
        accumulate: true,
        workspace: new Workspace(ctx),
      });
      assertClose(await ctx.read(out), expected, { rtol: 1e-5, atol: 1e-6 * Math.sqrt(rows) * 10 }, 'column sums');
    });
  }

  gpuTest('reduce_partials with offset and stride', async (ctx) => {
    // 3 parts of a 2 x 2 block stored every 5 elements from element 1.
    const partials = Float32Array.from([9, 1, 2, 3, 4, 9, 10, 20, 30, 40, 9, 100, 200, 300, 400, 9]);
    const pTensor = ctx.tensor('partials', [partials.length], partials);
    const out = ctx.tensor('out', [2, 3]);
    encodeReducePartials(ctx, { rows: 2, cols: 2, parts: 3, partials: pTensor, partOffset: 1, partStride: 5, out: { tensor: out, rowStride: 3, colOffset: 1 } });
    assertClose(await ctx.read(out), [0, 111, 222, 0, 333, 444], { rtol: 0, atol: 0 }, 'sums');
    assert.throws(() => encodeReducePartials(ctx, { rows: 2, cols: 2, parts: 4, partials: pTensor, partOffset: 1, partStride: 5, out: wholeMatrix(out, 2) }), ShapeError);
  });

  gpuTest('workspace grows without breaking recorded work', async (ctx) => {
    const workspace = new Workspace(ctx);
    const x = ctx.tensor('x', [100_000], new Float32Array(100_000).fill(1));
    const out = ctx.tensor('out', [2]);
    // The first sum records work on a small scratch; the second needs a larger one, which
    // replaces the first after submitting it.
    encodeSum(ctx, { count: 300, x, out: { tensor: out, rowStride: 1, colOffset: 0 }, workspace });
    const small = workspace.scratch(1);
    encodeSum(ctx, { count: 100_000, x, out: { tensor: out, rowStride: 1, colOffset: 1 }, workspace });
    assert.notEqual(workspace.scratch(1), small, 'scratch was replaced');
    assertClose(await ctx.read(out), [300, 100_000], { rtol: 0, atol: 0 }, 'sums');
    workspace.destroy();
  });

  gpuTest('row split keeps parts within bounds', async () => {
    for (const rows of [1, 63, 64, 1000, 16384, 65536, 1_000_000]) {
      const { parts, rowsPerPart } = planRowSplit(rows, 1);
      assert.ok(parts * rowsPerPart >= rows, `${rows} rows: ${parts} x ${rowsPerPart} leaves rows uncovered`);
      assert.ok((parts - 1) * rowsPerPart < rows, `${rows} rows: ${parts} x ${rowsPerPart} has an empty part`);
      assert.ok(rowsPerPart <= 16384, `${rows} rows: ${rowsPerPart} rows per part`);
    }
  });
});
