// The SaShiMi U-Net on the GPU: the time_pool kernel against its CPU reference, the model's
// logits against the CPU forward, and its gradient against directional finite differences
// of the CPU forward.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { encodeTimePool } from '../../gpu/kernels/time_pool';
import { parameterSpecs } from '../../gpu/model/config';
import { initParameters, type ParameterMap } from '../../gpu/model/init';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { sashimiForwardRef } from '../../gpu/reference/sashimi';
import { timePoolRef, type TimePoolShape } from '../../gpu/reference/time_pool';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { tinySashimiConfig } from '../support/sashimi';

/** Two levels below the top, a non-selective down stage and non-selective up stage 0. */
function smallSashimi() {
  const config = tinySashimiConfig();
  return { config, params: initParameters(config, 13) };
}

function randomCodes(rng: Rng, count: number, V: number): Uint32Array {
  return Uint32Array.from({ length: count }, () => rng.integer(V));
}

describe('time_pool kernel', () => {
  gpuTest('matches the CPU reference', async (ctx) => {
    const rng = new Rng(6);
    for (const direction of ['pool', 'unpool'] as const) {
      for (const shift of [0, 1]) {
        for (const accumulate of [false, true]) {
          const shape: TimePoolShape = { B: 3, L: 20, factor: 4, C: 5, shift };
          const count = shape.L * shape.B * shape.C;
          const input = rng.normalArray(count);
          const initial = rng.normalArray(count);
          const inputTensor = ctx.tensor('input', [count], input);
          const output = ctx.tensor('output', [count], initial);
          encodeTimePool(ctx, { direction, ...shape, input: inputTensor, output, accumulate });
          const expected = timePoolRef(direction, shape, input);
          if (accumulate) for (let i = 0; i < count; i++) expected[i] += initial[i];
          assertClose(await ctx.read(output), expected, { rtol: 0, atol: 0 }, `${direction} shift ${shift} accumulate ${accumulate}`);
        }
      }
    }
  });

  gpuTest('rejects a length that is not a multiple', async (ctx) => {
    const tensor = ctx.tensor('a', [30]);
    const other = ctx.tensor('b', [30]);
    assert.throws(() => encodeTimePool(ctx, { direction: 'pool', B: 1, L: 6, factor: 4, C: 5, input: tensor, output: other }), /L = 6 is not a multiple of the factor 4/);
    assert.throws(() => encodeTimePool(ctx, { direction: 'pool', B: 1, L: 6, factor: 3, C: 5, input: tensor, output: tensor }), /shares its buffer/);
  });
});

describe('SaShiMi model on the GPU', () => {
  gpuTest('logits match the CPU reference', async (ctx) => {
    const { config, params } = smallSashimi();
    const rng = new Rng(3);
    const model = new SashimiLM(ctx, config, params);
    for (const [B, L] of [[1, 4], [3, 12], [2, 64]]) {
      const codes = randomCodes(rng, B * L, config.vocabSize);
      model.encodeForward(codes, B);
      assertClose(await model.readLogits(), sashimiForwardRef(config, params, codes, B), { rtol: 1e-4, atol: 1e-4 }, `logits B=${B} L=${L}`);
    }
    model.destroy();
  });

  gpuTest('length off the pool grid is rejected', async (ctx) => {
    const { config, params } = smallSashimi();
    const model = new SashimiLM(ctx, config, params);
    assert.throws(() => model.encodeForward(new Uint32Array(6), 1), /multiples of 4 time steps, and L = 6 is not one/);
    model.destroy();
  });

  gpuTest('gradient matches directional finite differences', async (ctx) => {
    const { config, params } = smallSashimi();
    const rng = new Rng(9);
    const B = 2;
    const L = 32;
    const inputs = randomCodes(rng, B * L, config.vocabSize);
    const targets = randomCodes(rng, B * L, config.vocabSize);
    const model = new SashimiLM(ctx, config, params);
    model.encodeForwardBackward(inputs, targets, B);
    const grads: ParameterMap = new Map();
    for (const [name, tensor] of model.grads) grads.set(name, await ctx.read(tensor));

    // The finite differences come from the CPU reference, whose logits carry about 10 times
    // less rounding than the GPU's float32 loss, because some directions change the loss by
    // only 1e-5.
    const cpuLoss = (shiftedParams: ParameterMap) => {
      const V = config.vocabSize;
      const logits = sashimiForwardRef(config, shiftedParams, inputs, B);
      let total = 0;
      for (let r = 0; r < B * L; r++) {
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
        total += Math.log(sum) + max - logits[r * V + targets[r]];
      }
      return total / (B * L);
    };
    const lossAt = (direction: ParameterMap, scale: number) => {
      const shifted: ParameterMap = new Map();
      for (const [name, value] of params) {
        const v = direction.get(name);
        shifted.set(name, v ? value.map((x, i) => x + scale * v[i]) : value);
      }
      return cpuLoss(shifted);
    };
    assert.ok(Math.abs(cpuLoss(params) - (await model.readLoss())) < 1e-4, 'GPU and CPU losses differ');

    // Loss along a random direction v: (f(p + e v) - f(p - e v)) / 2e should equal g . v.
    // v is scaled per tensor to the tensor's RMS. Three directions: only the pooling layers,
    // only the blocks of the inner levels, and every parameter.
    const groups: Array<[string, (name: string) => boolean]> = [
      ['pooling layers', (name) => name.includes('.pool.')],
      ['inner-level blocks', (name) => /^backbone\.(down\.1|center|up\.1)\.layers\./.test(name)],
      ['every parameter', () => true],
    ];
    for (const [what, selected] of groups) {
      const direction: ParameterMap = new Map();
      let predicted = 0;
      for (const spec of parameterSpecs(config)) {
        if (!selected(spec.name)) continue;
        const value = params.get(spec.name)!;
        const rms = Math.sqrt(value.reduce((sum, x) => sum + x * x, 0) / value.length) || 1;
        const v = rng.normalArray(value.length).map((x) => x * rms);
        direction.set(spec.name, v);
        const g = grads.get(spec.name)!;
        for (let i = 0; i < v.length; i++) predicted += g[i] * v[i];
      }
      assert.ok(direction.size > 0, `${what}: no parameter selected`);
      const epsilon = 3e-3;
      const measured = (lossAt(direction, epsilon) - lossAt(direction, -epsilon)) / (2 * epsilon);
      assert.ok(Math.abs(predicted) > 1e-3, `${what}: directional derivative ${predicted} is too small to test anything`);
      assert.ok(Math.abs(measured - predicted) <= 0.005 * Math.abs(predicted) + 1e-5, `${what}: finite difference ${measured}, gradient ${predicted}`);
    }
    model.destroy();
  });
});
