// The CPU reference of the SaShiMi U-Net: the time re-layout, step against forward at every
// position, causality of the up-pooling, and the flat stack as the case without pooling.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { blockParameterNames, resolveConfig, type ConfigInput } from '../../gpu/model/config';
import { initParameters, type ParameterMap } from '../../gpu/model/init';
import { modelForwardRef } from '../../gpu/reference/model';
import { createSashimiState, ReferenceSashimiGenerator, sashimiForwardRef, sashimiPrefillRef, sashimiStep, sashimiTracesRef, type SashimiStepTraces } from '../../gpu/reference/sashimi';
import { timePoolRef, type TimePoolShape } from '../../gpu/reference/time_pool';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { assertSameState } from '../support/sashimi';

const STEP_TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

function tinySashimi(sashimi: ConfigInput['sashimi'], extra: ConfigInput = {}) {
  const config = resolveConfig({ backbone: 'sashimi', vocabSize: 16, encoding: 'tokens', dModel: 8, dState: 4, dtRank: 2, sashimi, ...extra });
  return { config, params: initParameters(config, 7) };
}

function randomCodes(rng: Rng, count: number, V: number): number[] {
  return Array.from({ length: count }, () => rng.integer(V));
}

/** Logits (L, B, V) of the step reference fed codes (L, B) one time step at a time. */
function stepLogits(config: ReturnType<typeof tinySashimi>['config'], params: ParameterMap, codes: number[], B: number): Float32Array {
  const V = config.vocabSize;
  const L = codes.length / B;
  const state = createSashimiState(config, B);
  const logits = new Float32Array(L * B * V);
  for (let t = 0; t < L; t++) logits.set(sashimiStep(config, params, codes.slice(t * B, (t + 1) * B), state), t * B * V);
  return logits;
}

describe('time_pool reference', () => {
  test('pool and unpool are transposes', () => {
    const rng = new Rng(2);
    for (const shift of [0, 1]) {
      const shape: TimePoolShape = { B: 3, L: 12, factor: 4, C: 5, shift };
      const x = rng.normalArray(shape.L * shape.B * shape.C);
      const y = rng.normalArray(shape.L * shape.B * shape.C);
      const pooled = timePoolRef('pool', shape, x);
      const unpooled = timePoolRef('unpool', shape, y);
      let left = 0;
      let right = 0;
      for (let i = 0; i < x.length; i++) {
        left += pooled[i] * y[i];
        right += x[i] * unpooled[i];
      }
      assert.ok(Math.abs(left - right) < 1e-9 * (1 + Math.abs(left)), `shift ${shift}: <pool x, y> = ${left}, <x, unpool y> = ${right}`);
    }
  });

  test('unpool undoes pool without shift', () => {
    const shape: TimePoolShape = { B: 2, L: 6, factor: 3, C: 4, shift: 0 };
    const x = new Rng(4).normalArray(shape.L * shape.B * shape.C);
    assert.deepEqual(timePoolRef('unpool', shape, timePoolRef('pool', shape, x)), x);
  });

  test('pooled row holds consecutive steps', () => {
    // B = 2, C = 1: value 10 t + b at step t of sequence b.
    const shape: TimePoolShape = { B: 2, L: 4, factor: 2, C: 1, shift: 0 };
    const x = Float32Array.from({ length: 8 }, (_, r) => 10 * Math.floor(r / 2) + (r % 2));
    assert.deepEqual([...timePoolRef('pool', shape, x)], [0, 10, 1, 11, 20, 30, 21, 31]);
    const delayed = timePoolRef('unpool', { ...shape, shift: 1 }, timePoolRef('pool', shape, x));
    assert.deepEqual([...delayed], [0, 0, 0, 0, 0, 1, 10, 11]);
  });
});

describe('SaShiMi reference', () => {
  const cases: Array<{ name: string; sashimi: ConfigInput['sashimi']; lengths: number[] }> = [
    { name: 'two stages of 2', sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { down: [true, false], center: true, up: false } }, lengths: [4, 12] },
    { name: 'pool 4 then 3', sashimi: { pool: [4, 3], downBlocks: 1, centerBlocks: 1, upBlocks: 1, widthExpand: 1 }, lengths: [24] },
    { name: 'no down blocks', sashimi: { pool: [3], downBlocks: 0, centerBlocks: 2, upBlocks: 1, selective: false }, lengths: [9] },
  ];
  for (const { name, sashimi, lengths } of cases) {
    test(`step equals forward: ${name}`, () => {
      const { config, params } = tinySashimi(sashimi);
      const rng = new Rng(21);
      for (const L of lengths) {
        for (const B of [1, 2]) {
          const codes = randomCodes(rng, L * B, config.vocabSize);
          assertClose(stepLogits(config, params, codes, B), sashimiForwardRef(config, params, codes, B), STEP_TOLERANCE, `${name} L=${L} B=${B}`);
        }
      }
    });
  }

  test('output never sees later inputs', () => {
    const { config, params } = tinySashimi({ pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 });
    const V = config.vocabSize;
    const L = 16;
    const codes = randomCodes(new Rng(8), L, V);
    const base = sashimiForwardRef(config, params, codes, 1);
    for (const changed of [3, 4, 9]) {
      const other = [...codes];
      other[changed] = (other[changed] + 5) % V;
      const logits = sashimiForwardRef(config, params, other, 1);
      assertClose(logits.subarray(0, changed * V), base.subarray(0, changed * V), { rtol: 0, atol: 0 }, `logits before step ${changed}`);
      const after = logits.subarray(changed * V, (changed + 1) * V);
      assert.ok(after.some((value, v) => value !== base[changed * V + v]), `logits at step ${changed} should depend on the code at ${changed}`);
    }
  });

  test('no pooling is the flat stack', () => {
    const { config, params } = tinySashimi({ pool: [], centerBlocks: 3, selective: { center: true } });
    const flat = resolveConfig({ vocabSize: 16, encoding: 'tokens', dModel: 8, dState: 4, dtRank: 2, nLayers: 3 });
    const flatParams: ParameterMap = new Map();
    for (const [name, value] of params) flatParams.set(name.replace(/^backbone\.center\.layers\./, 'backbone.layers.'), value);
    assert.ok(flatParams.has(blockParameterNames('backbone.layers.2').outProj));
    const codes = randomCodes(new Rng(3), 2 * 7, config.vocabSize);
    assertClose(sashimiForwardRef(config, params, codes, 2), modelForwardRef(flat, flatParams, codes, 2).logits, { rtol: 1e-6, atol: 1e-7 }, 'logits');
  });

  test('generator is seeded and resumable', () => {
    const { config, params } = tinySashimi({ pool: [2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 });
    const options = { samples: 10, temperature: 1, topP: 0.9, seed: 5 };
    const first = new ReferenceSashimiGenerator(config, params, 2).generate(options);
    const second = new ReferenceSashimiGenerator(config, params, 2).generate(options);
    assert.deepEqual(second, first);
    const split = new ReferenceSashimiGenerator(config, params, 2);
    const joined = [...split.generate({ ...options, samples: 4 }), ...split.generate({ ...options, samples: 6 })];
    assert.deepEqual(joined, [...first]);
  });

  test('prefill equals stepping through the prompt', () => {
    // Pool product 6: lengths below it, on it, and off the grid at both levels.
    const { config, params } = tinySashimi({ pool: [2, 3], downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { down: [true, false], center: true, up: [false, true] } });
    const V = config.vocabSize;
    const rng = new Rng(31);
    for (const L of [1, 2, 5, 6, 7, 11, 13, 18]) {
      for (const B of [1, 2]) {
        const codes = randomCodes(rng, L * B, V);
        const stepped = createSashimiState(config, B);
        let logits: Float32Array = new Float32Array(0);
        for (let t = 0; t < L; t++) logits = sashimiStep(config, params, codes.slice(t * B, (t + 1) * B), stepped);
        const { state, lastLogits } = sashimiPrefillRef(config, params, codes, B);
        assertSameState(state, stepped, STEP_TOLERANCE, `L=${L} B=${B}`);
        assertClose(lastLogits, logits, STEP_TOLERANCE, `L=${L} B=${B} last logits`);

        // Generation continues identically from either state.
        const options = { samples: 8, temperature: 1, topP: 0.9, seed: L };
        const fromPrefill = new ReferenceSashimiGenerator(config, params, B);
        fromPrefill.state = state;
        fromPrefill.pendingLogits = lastLogits;
        const fromSteps = new ReferenceSashimiGenerator(config, params, B);
        for (let t = 0; t < L; t++) fromSteps.step(codes.slice(t * B, (t + 1) * B));
        assert.deepEqual(fromPrefill.generate(options), fromSteps.generate(options), `L=${L} B=${B} generated codes`);
      }
    }
  });

  test('traces match the step traces', () => {
    const { config, params } = tinySashimi({ pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { down: [true, false], center: true, up: false } });
    const B = 2;
    const L = 8;
    const codes = randomCodes(new Rng(12), L * B, config.vocabSize);
    const traces = sashimiTracesRef(config, params, codes, B);
    const state = createSashimiState(config, B);
    const stepped: SashimiStepTraces = traces.map(() => []);
    for (let t = 0; t < L; t++) sashimiStep(config, params, codes.slice(t * B, (t + 1) * B), state, stepped);
    assert.deepEqual(traces.map((trace) => trace.stride), [1, 2, 4, 2, 1]);
    for (const trace of traces) {
      const rows = L / trace.stride;
      assert.equal(stepped[trace.block].length, rows, `block ${trace.block} steps`);
      for (const kind of ['delta', 'gate', 'stateNorm'] as const) {
        assert.equal(trace[kind].length, rows * B * trace.channels, `block ${trace.block} ${kind} length`);
        const joined = new Float32Array(rows * B * trace.channels);
        stepped[trace.block].forEach((step, row) => joined.set(step[kind], row * B * trace.channels));
        assertClose(trace[kind], joined, STEP_TOLERANCE, `block ${trace.block} ${kind}`);
      }
    }
  });
});

