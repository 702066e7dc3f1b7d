// AdamW and global-norm gradient clipping: the CPU reference against known properties of
// the update, then the WGSL kernels against the reference over several steps, with and
// without weight decay, clipping on and off, and non-finite gradients.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { ADAMW_DEFAULTS, encodeAdamW } from '../../gpu/kernels/adamw';
import { CLIP_SCALE_INDEX, encodeGradNorm, GRAD_NORM_INDEX, NON_FINITE_INDEX } from '../../gpu/kernels/grad_norm';
import { Workspace } from '../../gpu/kernels/workspace';
import { adamWRef, gradNormRef } from '../../gpu/reference/optimizer';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

describe('optimizer CPU reference', () => {
  test('first AdamW step moves each weight by lr against its gradient sign', () => {
    // After step 1, m / (1 - beta1) = g and v / (1 - beta2) = g^2, so the update is
    // lr * g / (|g| + eps): lr * sign(g) for |g| >> eps.
    const param = Float32Array.from([1, -2, 0.5]);
    const grad = Float32Array.from([0.3, -4, 1e-3]);
    const expected = param.map((p, i) => p - 0.01 * Math.sign(grad[i]));
    adamWRef(param, grad, new Float32Array(3), new Float32Array(3), { ...ADAMW_DEFAULTS, lr: 0.01, step: 1, decay: false });
    assertClose(param, expected, { rtol: 1e-6, atol: 1e-6 }, 'param after one step');
  });

  test('decoupled weight decay shrinks the weight by lr * weightDecay', () => {
    const param = Float32Array.from([2]);
    adamWRef(param, new Float32Array(1), new Float32Array(1), new Float32Array(1), { ...ADAMW_DEFAULTS, lr: 0.1, weightDecay: 0.5, step: 1, decay: true });
    assertClose(param, [2 * (1 - 0.05)], { rtol: 1e-7, atol: 0 }, 'decayed param with a zero gradient');
  });

  test('clip scale', () => {
    const { norm, scale } = gradNormRef([Float32Array.from([3]), Float32Array.from([4])], 1);
    assert.equal(norm, 5);
    assert.ok(Math.abs(scale - 1 / (5 + 1e-6)) < 1e-12);
    assert.equal(gradNormRef([Float32Array.from([0.1])], 1).scale, 1);
    assert.equal(gradNormRef([Float32Array.from([Number.NaN])], 1).nonFinite, true);
  });
});

describe('optimizer kernels on the GPU', () => {
  for (const decay of [false, true]) {
    gpuTest(`AdamW, 3 steps, ${decay ? 'with' : 'without'} weight decay`, async (ctx) => {
      const rng = new Rng(decay ? 2 : 1);
      // Enough elements that each invocation updates a run of several.
      const count = 100_003;
      const hyper = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      const param = Float32Array.from({ length: count }, () => rng.normal());
      const m = new Float32Array(count);
      const v = new Float32Array(count);
      const paramTensor = ctx.tensor('param', [count], param);
      const gradTensor = ctx.tensor('grad', [count]);
      const mTensor = ctx.tensor('m', [count]);
      const vTensor = ctx.tensor('v', [count]);
      for (let step = 1; step <= 3; step++) {
        // Gradients spanning many magnitudes, including exact zeros.
        const grad = Float32Array.from({ length: count }, (_, i) => (i % 50 === 0 ? 0 : rng.normal() * 10 ** (rng.integer(6) - 4)));
        ctx.write(gradTensor, grad);
        adamWRef(param, grad, m, v, { ...hyper, step, decay });
        encodeAdamW(ctx, { ...hyper, param: paramTensor, grad: gradTensor, m: mTensor, v: vTensor, step, decay });
        // Submit before the next write: a write lands before all work not yet submitted.
        ctx.submit();
      }
      assertClose(await ctx.read(paramTensor), param, { rtol: 1e-5, atol: 1e-6 }, 'param');
      assertClose(await ctx.read(mTensor), m, { rtol: 1e-5, atol: 1e-6 }, 'm');
      assertClose(await ctx.read(vTensor), v, { rtol: 1e-5, atol: 1e-9 }, 'v');
    });
  }

  gpuTest('global norm clipping over several tensors', async (ctx) => {
    const rng = new Rng(5);
    // Sizes: one element, not a multiple of any chunk, a 256 x 64 weight, and one large
    // enough that each scaling invocation handles a run of elements.
    const sizes = [1, 777, 256 * 64, 130, 70_001];
    const grads = sizes.map((size) => Float32Array.from({ length: size }, () => rng.normal(0, 0.05)));
    const tensors = grads.map((grad, i) => ctx.tensor(`grad ${i}`, [grad.length], grad));
    const result = ctx.tensor('grad norm result', [3]);
    const workspace = new Workspace(ctx);
    const maxNorm = 1;
    const expected = gradNormRef(grads, maxNorm);
    assert.ok(expected.scale < 1, 'the case must clip');

    encodeGradNorm(ctx, { grads: tensors, maxNorm, result, workspace });
    const values = await ctx.read(result);
    assertClose([values[GRAD_NORM_INDEX]], [expected.norm], { rtol: 1e-5, atol: 0 }, 'norm');
    assertClose([values[CLIP_SCALE_INDEX]], [expected.scale], { rtol: 1e-5, atol: 0 }, 'clip scale');
    assert.equal(values[NON_FINITE_INDEX], 0);
    for (let i = 0; i < grads.length; i++) {
      assertClose(await ctx.read(tensors[i]), grads[i].map((value) => value * expected.scale), { rtol: 1e-5, atol: 1e-9 }, `clipped grad ${i}`);
    }

    // AdamW can apply the clip scale itself instead of a scaling pass.
    const param = ctx.tensor('param', [1], Float32Array.from([0]));
    const m = ctx.tensor('m', [1]);
    const v = ctx.tensor('v', [1]);
    encodeAdamW(ctx, { ...ADAMW_DEFAULTS, param, grad: tensors[0], m, v, step: 1, decay: false, gradScale: { tensor: result, index: CLIP_SCALE_INDEX } });
    const clippedGrad = grads[0][0] * expected.scale * expected.scale;
    assertClose(await ctx.read(m), [0.1 * clippedGrad], { rtol: 1e-5, atol: 0 }, 'm from the scaled gradient');
  });

  gpuTest('norm without clipping leaves gradients unchanged', async (ctx) => {
    const grad = Float32Array.from([30, 40]);
    const tensor = ctx.tensor('grad', [2], grad);
    const result = ctx.tensor('result', [3]);
    encodeGradNorm(ctx, { grads: [tensor], maxNorm: Infinity, result, workspace: new Workspace(ctx) });
    assertClose(await ctx.read(result), [50, 1, 0], { rtol: 1e-6, atol: 0 }, 'norm, scale, flag');
    assertClose(await ctx.read(tensor), grad, { rtol: 0, atol: 0 }, 'grad');
  });

  for (const bad of [Number.NaN, Infinity, -Infinity]) {
    gpuTest(`non-finite flag for a ${bad} gradient`, async (ctx) => {
      const grads = [Float32Array.from([1, 2, 3]), Float32Array.from({ length: 5000 }, (_, i) => (i === 4321 ? bad : 0.5))];
      const tensors = grads.map((grad, i) => ctx.tensor(`grad ${i}`, [grad.length], grad));
      const result = ctx.tensor('result', [3]);
      encodeGradNorm(ctx, { grads: tensors, maxNorm: 1, result, workspace: new Workspace(ctx) });
      const values = await ctx.read(result);
      assert.equal(values[NON_FINITE_INDEX], 1, 'flag');
      assert.equal(values[CLIP_SCALE_INDEX], 1, 'scale');
      assertClose(await ctx.read(tensors[0]), grads[0], { rtol: 0, atol: 0 }, 'finite tensor left unscaled');
    });
  }

  gpuTest('invalid arguments raise ShapeError', async (ctx) => {
    const p = ctx.tensor('p', [4]);
    const g = ctx.tensor('g', [4]);
    const m = ctx.tensor('m', [4]);
    const v = ctx.tensor('v', [3]);
    assert.throws(() => encodeAdamW(ctx, { ...ADAMW_DEFAULTS, param: p, grad: g, m, v, step: 1, decay: true }), ShapeError, 'v too small');
    assert.throws(() => encodeAdamW(ctx, { ...ADAMW_DEFAULTS, param: p, grad: g, m, v: m, step: 1, decay: true }), ShapeError, 'm and v alias');
    assert.throws(() => encodeAdamW(ctx, { ...ADAMW_DEFAULTS, param: p, grad: g, m, v: ctx.tensor('v4', [4]), step: 0, decay: true }), ShapeError, 'step 0');
    assert.throws(() => encodeGradNorm(ctx, { grads: [g], maxNorm: 0, result: ctx.tensor('r', [3]), workspace: new Workspace(ctx) }), ShapeError, 'maxNorm 0');
  });
});
