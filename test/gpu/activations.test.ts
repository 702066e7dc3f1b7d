// The loss weights helper shared by both models: upload, reuse of the tensor, and its errors.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { uploadTargetWeights } from '../../gpu/model/activations';

describe('target weights', () => {
  gpuTest('uploads and reuses the tensor', async (ctx) => {
    const first = uploadTargetWeights(ctx, 'TestLM', null, Float32Array.from([1, 0, 2, 1]), 2, 2);
    assert.equal(first.weightSum, 4);
    assert.deepEqual(first.tensor.shape, [2, 2]);
    assert.deepEqual(Array.from(await ctx.read(first.tensor)), [1, 0, 2, 1]);
    const second = uploadTargetWeights(ctx, 'TestLM', first.tensor, Float32Array.from([0, 0, 0, 0.5]), 2, 2);
    assert.equal(second.tensor, first.tensor);
    assert.equal(second.weightSum, 0.5);
    assert.deepEqual(Array.from(await ctx.read(second.tensor)), [0, 0, 0, 0.5]);
  });

  gpuTest('rejects bad weights', async (ctx) => {
    const buffers = ctx.memoryStats().buffers;
    assert.throws(() => uploadTargetWeights(ctx, 'TestLM', null, new Float32Array(3), 2, 2), /TestLM: 3 target weights for 4 targets/);
    assert.throws(() => uploadTargetWeights(ctx, 'TestLM', null, new Float32Array(4), 2, 2), /TestLM: the target weights sum to zero, so no position is scored/);
    assert.equal(ctx.memoryStats().buffers, buffers, 'nothing allocated for rejected weights');
  });
});
