// Embedding lookup and its scatter-add gradient against the CPU reference: repeated codes,
// codes that never occur, out-of-range codes, one row, and 65,536 rows over V = 256.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { encodeEmbedding } from '../../gpu/kernels/embedding';
import { encodeEmbeddingBackward } from '../../gpu/kernels/embedding_backward';
import { wholeMatrix } from '../../gpu/kernels/matrix_view';
import { Workspace } from '../../gpu/kernels/workspace';
import { embeddingBackwardRef, embeddingRef } from '../../gpu/reference/embedding';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

describe('embedding CPU reference', () => {
  test('gradient sums rows of equal codes', () => {
    const codes = Uint32Array.from([2, 0, 2, 5]);
    const dOut = Float32Array.from([1, 2, 10, 20, 100, 200, 7, 7]);
    // Code 5 is out of range for V = 3 and adds nothing.
    assert.deepEqual(Array.from(embeddingBackwardRef(codes, dOut, 2, 3)), [10, 20, 0, 0, 101, 202]);
    assert.deepEqual(Array.from(embeddingRef(codes, Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)), [5, 6, 1, 2, 5, 6, 0, 0]);
  });
});

describe('embedding on the GPU', () => {
  // rows, dim, V: one row, dims not multiples of 64, the audio vocabulary 256.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 64, 256],
    [7, 3, 5],
    [300, 70, 256],
  ];
  for (const [rows, dim, vocabulary] of shapes) {
    gpuTest(`lookup and gradient, ${rows} rows, dim ${dim}, V ${vocabulary}`, async (ctx) => {
      const rng = new Rng(rows + dim * 7 + vocabulary);
      // A few codes past V check that they give zero rows and no gradient.
      const codes = Uint32Array.from({ length: rows }, (_, r) => (r % 13 === 12 ? vocabulary + r : rng.integer(vocabulary)));
      const table = Float32Array.from({ length: vocabulary * dim }, () => rng.normal());
      const dOut = Float32Array.from({ length: rows * dim }, () => rng.normal());
      const initial = Float32Array.from({ length: vocabulary * dim }, () => rng.normal());

      const codesTensor = ctx.tensor('codes', [rows], codes);
      const tableTensor = ctx.tensor('table', [vocabulary, dim], table);
      const out = ctx.tensor('out', [rows, dim + 2]);
      encodeEmbedding(ctx, { rows, dim, vocabulary, codes: codesTensor, table: tableTensor, out: { tensor: out, rowStride: dim + 2, colOffset: 1 } });
      const expectedOut = new Float32Array(rows * (dim + 2));
      const lookedUp = embeddingRef(codes, table, dim, vocabulary);
      for (let r = 0; r < rows; r++) expectedOut.set(lookedUp.subarray(r * dim, (r + 1) * dim), r * (dim + 2) + 1);
      assertClose(await ctx.read(out), expectedOut, { rtol: 0, atol: 0 }, 'embedding rows');

      const dOutTensor = ctx.tensor('dOut', [rows, dim], dOut);
      const dTable = ctx.tensor('dTable', [vocabulary, dim], initial);
      const workspace = new Workspace(ctx);
      const expected = embeddingBackwardRef(codes, dOut, dim, vocabulary);
      encodeEmbeddingBackward(ctx, { rows, dim, vocabulary, codes: codesTensor, dOut: dOutTensor, dTable, accumulate: true, workspace });
      assertClose(await ctx.read(dTable), expected.map((value, i) => value + initial[i]), { rtol: 1e-5, atol: 1e-5 }, 'dTable accumulated');
      encodeEmbeddingBackward(ctx, { rows, dim, vocabulary, codes: codesTensor, dOut: dOutTensor, dTable, workspace });
      assertClose(await ctx.read(dTable), expected, { rtol: 1e-5, atol: 1e-5 }, 'dTable');
    });
  }

  gpuTest('lookup and gradient over 65,536 rows, V = 256', async (ctx) => {
    const rng = new Rng(12);
    const rows = 65536;
    const dim = 64;
    const vocabulary = 256;
    // Skewed codes, as mu-law audio is: most samples sit near the middle classes.
    const codes = Uint32Array.from({ length: rows }, () => Math.min(vocabulary - 1, Math.max(0, Math.round(128 + rng.normal(0, 12)))));
    const dOut = Float32Array.from({ length: rows * dim }, () => rng.normal());
    const codesTensor = ctx.tensor('codes', [rows], codes);
    const table = Float32Array.from({ length: vocabulary * dim }, () => rng.normal());
    const tableTensor = ctx.tensor('table', [vocabulary, dim], table);
    const out = ctx.tensor('out', [rows, dim]);
    encodeEmbedding(ctx, { rows, dim, vocabulary, codes: codesTensor, table: tableTensor, out: wholeMatrix(out, dim) });
    assertClose(await ctx.read(out), embeddingRef(codes, table, dim, vocabulary), { rtol: 0, atol: 0 }, 'embedding rows');

    const dOutTensor = ctx.tensor('dOut', [rows, dim], dOut);
    const dTable = ctx.tensor('dTable', [vocabulary, dim]);
    encodeEmbeddingBackward(ctx, { rows, dim, vocabulary, codes: codesTensor, dOut: dOutTensor, dTable, workspace: new Workspace(ctx) });
    // Up to ~3,000 rows share a code; float32 sums of that many unit normals round to ~1e-5.
    assertClose(await ctx.read(dTable), embeddingBackwardRef(codes, dOut, dim, vocabulary), { rtol: 1e-5, atol: 5e-5 }, 'dTable');
  });

  gpuTest('invalid sizes raise ShapeError', async (ctx) => {
    const codes = ctx.tensor('codes', [4]);
    const table = ctx.tensor('table', [3, 2]);
    const out = ctx.tensor('out', [4, 2]);
    assert.throws(() => encodeEmbedding(ctx, { rows: 5, dim: 2, vocabulary: 3, codes, table, out: wholeMatrix(out, 2) }), ShapeError);
    assert.throws(() => encodeEmbedding(ctx, { rows: 4, dim: 2, vocabulary: 4, codes, table, out: wholeMatrix(out, 2) }), ShapeError);
    assert.throws(() => encodeEmbedding(ctx, { rows: 4, dim: 2, vocabulary: 3, codes, table, out: wholeMatrix(table, 2) }), ShapeError);
  });
});
