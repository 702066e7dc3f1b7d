// Cross-entropy with the logits' gradient in one pass: the CPU reference against finite
// differences, then the WGSL kernel against the reference with masks, out-of-range
// targets, huge logits, in-place and separate gradients, and 16,384 rows of V = 256.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError, type GpuContext } from '../../gpu/context';
import { encodeCrossEntropy } from '../../gpu/kernels/cross_entropy';
import { Workspace } from '../../gpu/kernels/workspace';
import { crossEntropyRef } from '../../gpu/reference/cross_entropy';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

describe('cross-entropy CPU reference', () => {
  test('uniform logits give log V', () => {
    const { rowLoss, meanLoss } = crossEntropyRef(2, 256, new Float32Array(512), Uint32Array.from([3, 200]));
    assert.ok(Math.abs(meanLoss - Math.log(256)) < 1e-6, `mean loss ${meanLoss}`);
    assert.ok(Math.abs(rowLoss[1] - Math.log(256)) < 1e-6, `row loss ${rowLoss[1]}`);
  });

  test('gradient matches central differences of the mean loss', () => {
    const rng = new Rng(1);
    const rows = 3;
    const classes = 5;
    const logits = Float32Array.from({ length: rows * classes }, () => rng.normal(0, 2));
    const targets = Uint32Array.from([4, 0, 2]);
    const weights = Float32Array.from([1, 0, 0.5]);
    const { dLogits } = crossEntropyRef(rows, classes, logits, targets, weights);
    const mean = (values: Float64Array): number => {
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const row = values.subarray(r * classes, (r + 1) * classes);
        const maximum = Math.max(...row);
        const lse = maximum + Math.log(row.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
        total += weights[r] * (lse - row[targets[r]]);
      }
      return total / 1.5;
    };
    const values = Float64Array.from(logits);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + 1e-6;
      const plus = mean(values);
      values[i] = saved - 1e-6;
      const minus = mean(values);
      values[i] = saved;
      const numeric = (plus - minus) / 2e-6;
      assert.ok(Math.abs(numeric - dLogits[i]) < 1e-7, `dLogits[${i}] = ${dLogits[i]}, finite difference ${numeric}`);
    }
  });
});

interface Case {
  rows: number;
  classes: number;
  /** Standard deviation of the logits, and a constant added to all of them. */
  scale: number;
  shift: number;
  masked: boolean;
  inPlace: boolean;
}

async function runCase(ctx: GpuContext, c: Case): Promise<void> {
  const rng = new Rng(c.rows * 31 + c.classes + (c.masked ? 1 : 0) + (c.inPlace ? 2 : 0));
  const logits = Float32Array.from({ length: c.rows * c.classes }, () => c.shift + rng.normal(0, c.scale));
  // Every 9th target is past V: zero loss and gradient.
  const targets = Uint32Array.from({ length: c.rows }, (_, r) => (r % 9 === 8 ? c.classes + 3 : rng.integer(c.classes)));
  const weights = c.masked ? Float32Array.from({ length: c.rows }, (_, r) => (r % 4 === 3 ? 0 : 1)) : undefined;
  const expected = crossEntropyRef(c.rows, c.classes, logits, targets, weights);

  const logitsTensor = ctx.tensor('logits', [c.rows, c.classes], logits);
  const targetsTensor = ctx.tensor('targets', [c.rows], targets);
  const weightsTensor = weights ? ctx.tensor('weights', [c.rows], weights) : null;
  const rowLoss = ctx.tensor('row loss', [c.rows]);
  const meanLoss = ctx.tensor('mean loss', [1]);
  const dLogits = c.inPlace ? logitsTensor : ctx.tensor('dLogits', [c.rows, c.classes]);
  encodeCrossEntropy(ctx, {
    rows: c.rows,
    classes: c.classes,
    logits: logitsTensor,
    targets: targetsTensor,
    weights: weightsTensor,
    weightSum: weights?.reduce((sum, value) => sum + value, 0),
    rowLoss,
    meanLoss,
    dLogits,
    workspace: new Workspace(ctx),
  });
  // A row's loss is its maximum plus log(sum of exp()), so its float32 rounding is a few
  // ulps of the largest logit on top of 1e-5 relative.
  const atol = 1e-6 * Math.max(1, Math.abs(c.shift) + 6 * c.scale);
  assertClose(await ctx.read(rowLoss), expected.rowLoss, { rtol: 1e-5, atol }, 'row loss');
  assertClose(await ctx.read(meanLoss), [expected.meanLoss], { rtol: 1e-5, atol }, 'mean loss');
  assertClose(await ctx.read(dLogits), expected.dLogits, { rtol: 1e-4, atol: 1e-7 }, 'dLogits');
  if (!c.inPlace) assertClose(await ctx.read(logitsTensor), logits, { rtol: 0, atol: 0 }, 'logits unchanged');
}

describe('cross-entropy on the GPU', () => {
  const cases: Case[] = [
    { rows: 1, classes: 256, scale: 1, shift: 0, masked: false, inPlace: true },
    { rows: 1, classes: 1, scale: 1, shift: 0, masked: false, inPlace: false },
    { rows: 37, classes: 3, scale: 2, shift: 0, masked: true, inPlace: false },
    { rows: 100, classes: 256, scale: 3, shift: 0, masked: true, inPlace: true },
    { rows: 70, classes: 300, scale: 1, shift: 0, masked: false, inPlace: false },
    // Logits near 1e4 overflow exp() unless the row maximum is subtracted first.
    { rows: 20, classes: 256, scale: 30, shift: 1e4, masked: false, inPlace: true },
  ];
  for (const c of cases) {
    const name = `${c.rows} rows, V ${c.classes}, logits ${c.shift} +- ${c.scale}${c.masked ? ', masked' : ''}${c.inPlace ? ', in place' : ''}`;
    gpuTest(name, (ctx) => runCase(ctx, c));
  }

  gpuTest('16,384 rows of V = 256', (ctx) => runCase(ctx, { rows: 16384, classes: 256, scale: 2, shift: 0, masked: true, inPlace: true }));

  gpuTest('loss only, without a gradient', async (ctx) => {
    const logits = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const logitsTensor = ctx.tensor('logits', [2, 3], logits);
    const targets = ctx.tensor('targets', [2], Uint32Array.from([2, 0]));
    const rowLoss = ctx.tensor('row loss', [2]);
    encodeCrossEntropy(ctx, { rows: 2, classes: 3, logits: logitsTensor, targets, rowLoss });
    assertClose(await ctx.read(rowLoss), crossEntropyRef(2, 3, logits, Uint32Array.from([2, 0])).rowLoss, { rtol: 1e-6, atol: 1e-6 }, 'row loss');
    assertClose(await ctx.read(logitsTensor), logits, { rtol: 0, atol: 0 }, 'logits unchanged');
  });

  gpuTest('invalid arguments raise errors', async (ctx) => {
    const logits = ctx.tensor('logits', [4, 3]);
    const targets = ctx.tensor('targets', [4]);
    const rowLoss = ctx.tensor('row loss', [4]);
    const weights = ctx.tensor('weights', [4]);
    assert.throws(() => encodeCrossEntropy(ctx, { rows: 5, classes: 3, logits, targets, rowLoss }), ShapeError, 'too many rows');
    assert.throws(() => encodeCrossEntropy(ctx, { rows: 4, classes: 3, logits, targets, rowLoss, weights }), /weightSum/, 'weights without their sum');
    assert.throws(() => encodeCrossEntropy(ctx, { rows: 4, classes: 3, logits, targets, rowLoss, weights, weightSum: 0 }), ShapeError, 'all rows masked');
    assert.throws(() => encodeCrossEntropy(ctx, { rows: 4, classes: 3, logits, targets, rowLoss: logits }), ShapeError, 'row loss aliases logits');
  });
});
