// The CPU reference of one recurrent block step against the authors' Mamba.step outputs
// and final states, and the model step and generator loop against their own definitions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import {
  createLayerStates,
  mambaBlockStep,
  modelStep,
  ReferenceGenerator,
  type BlockDims,
  type BlockParams,
  type LayerState,
} from '../../gpu/reference/step';
import { nucleusWeights, sampleLogits, sampleUniform } from '../../gpu/generate/sampler';
import { assertClose } from '../support/compare';
import { f32, loadOracle } from '../support/oracle';

const STEP_TOLERANCE = { rtol: 1e-5, atol: 1e-7 };

interface OracleBlock {
  dims: BlockDims;
  params: BlockParams;
  batch: number;
  L: number;
  /** (batch, L, D) as in the oracle file. */
  input: Float32Array;
}

function loadBlock(file: string): OracleBlock {
  const oracle = loadOracle(file);
  const c = oracle.config;
  const dims: BlockDims = { D: c.d_model, DI: c.d_inner, N: c.d_state, R: c.dt_rank, K: c.d_conv };
  const p = oracle.params;
  const params: BlockParams = {
    inProj: f32(p['in_proj.weight']),
    convWeight: f32(p['conv1d.weight']),
    convBias: f32(p['conv1d.bias']),
    xProjWeight: f32(p['x_proj.weight']),
    xProjBias: null,
    dtProjWeight: f32(p['dt_proj.weight']),
    dtProjBias: f32(p['dt_proj.bias']),
    aLog: f32(p.A_log),
    D: f32(p.D),
    outProj: f32(p['out_proj.weight']),
  };
  const [batch, L] = oracle.input.shape;
  return { dims, params, batch, L, input: f32(oracle.input) };
}

/** Steps the block through time steps [t0, t1) of the oracle input; returns (batch, t1 - t0, D). */
function runSteps(block: OracleBlock, state: LayerState, t0: number, t1: number): Float32Array {
  const { dims, batch, L, input } = block;
  const { D } = dims;
  const out = new Float32Array(batch * (t1 - t0) * D);
  for (let t = t0; t < t1; t++) {
    const hidden = new Float32Array(batch * D);
    for (let b = 0; b < batch; b++) hidden.set(input.subarray((b * L + t) * D, (b * L + t + 1) * D), b * D);
    const y = mambaBlockStep(dims, block.params, hidden, state, batch);
    for (let b = 0; b < batch; b++) out.set(y.subarray(b * D, (b + 1) * D), (b * (t1 - t0) + (t - t0)) * D);
  }
  return out;
}

function emptyState(block: OracleBlock): LayerState {
  const { DI, N, K } = block.dims;
  return { conv: new Float32Array(block.batch * DI * K), ssm: new Float32Array(block.batch * DI * N) };
}

for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
  describe(`block step reference vs ${file}`, () => {
    const oracle = loadOracle(file);

    test('outputs and final states from an empty state', () => {
      const block = loadBlock(file);
      const state = emptyState(block);
      const out = runSteps(block, state, 0, block.L);
      assertClose(out, f32(oracle.step.output), STEP_TOLERANCE, 'step outputs');
      assertClose(state.conv, f32(oracle.step.final_conv_state), STEP_TOLERANCE, 'final conv state');
      assertClose(state.ssm, f32(oracle.step.final_ssm_state), STEP_TOLERANCE, 'final SSM state');
    });

    test('prefill then step', () => {
      const block = loadBlock(file);
      const state = emptyState(block);
      const out = runSteps(block, state, 0, block.L);
      // Stepping through the prefill gives the states a parallel prefill leaves, so the
      // whole output matches the authors' prefill-then-step run.
      assertClose(out, f32(oracle.prefill_then_step.output), STEP_TOLERANCE, 'prefill then step outputs');
    });
  });
}

describe('model step reference', () => {
  const config = resolveConfig({ dModel: 16, nLayers: 3, dState: 8, dtRank: 2, encoding: 'tokens', vocabSize: 40, selective: [true, false, true] });
  const params = initParameters(config, 7);

  test('batched streams step independently', () => {
    const codes = [3, 17, 39];
    const batched = createLayerStates(config, 3);
    const logits = [modelStep(config, params, codes, batched), modelStep(config, params, [5, 5, 0], batched)];
    for (let b = 0; b < 3; b++) {
      const single = createLayerStates(config, 1);
      const first = modelStep(config, params, [codes[b]], single);
      const second = modelStep(config, params, [[5, 5, 0][b]], single);
      assertClose(logits[0].subarray(b * 40, (b + 1) * 40), first, { rtol: 0, atol: 0 }, `stream ${b} step 1`);
      assertClose(logits[1].subarray(b * 40, (b + 1) * 40), second, { rtol: 0, atol: 0 }, `stream ${b} step 2`);
    }
  });

  test('rejects a code outside the vocabulary', () => {
    assert.throws(() => modelStep(config, params, [40], createLayerStates(config, 1)), /code 40 of stream 0 is outside 0\.\.39/);
  });

  test('generator is deterministic per seed', () => {
    const options = { samples: 20, temperature: 1, topP: 0.9, seed: 11 };
    const first = new ReferenceGenerator(config, params, 2).generate(options);
    const second = new ReferenceGenerator(config, params, 2).generate(options);
    assert.deepEqual(first, second);
    const other = new ReferenceGenerator(config, params, 2).generate({ ...options, seed: 12 });
    assert.notDeepEqual(first, other);
  });

  test('greedy generator feeds back the argmax', () => {
    const generator = new ReferenceGenerator(config, params, 1);
    const codes = generator.generate({ samples: 5, temperature: 0, topP: 1, seed: 0, startCode: 9 });
    const replay = new ReferenceGenerator(config, params, 1);
    let logits = replay.step([9]);
    for (let t = 0; t < 5; t++) {
      let best = 0;
      for (let v = 1; v < 40; v++) if (logits[v] > logits[best]) best = v;
      assert.equal(codes[t], best, `sample ${t}`);
      logits = replay.step([best]);
    }
  });
});

describe('sampler reference', () => {
  test('nucleus keeps the smallest most probable set', () => {
    // Probabilities 0.5, 0.25, 0.125, 0.125 (up to the shared factor).
    const logits = [Math.log(4), Math.log(2), 0, 0];
    const keep = (topP: number) => Array.from(nucleusWeights(logits, { temperature: 1, topP }).weights, (w) => (w > 0 ? 1 : 0));
    assert.deepEqual(keep(0.5), [1, 0, 0, 0]);
    assert.deepEqual(keep(0.6), [1, 1, 0, 0]);
    assert.deepEqual(keep(0.76), [1, 1, 1, 1], 'ties at the boundary stay together');
    assert.deepEqual(keep(1), [1, 1, 1, 1]);
  });

  test('sampling picks by running mass in index order', () => {
    const logits = [0, 0, 0, 0];
    assert.equal(sampleLogits(logits, { temperature: 1, topP: 1 }, 0), 0);
    assert.equal(sampleLogits(logits, { temperature: 1, topP: 1 }, 0.26), 1);
    assert.equal(sampleLogits(logits, { temperature: 1, topP: 1 }, 0.99), 3);
  });

  test('uniform draws are in [0, 1) and vary with every input', () => {
    const draws = new Set<number>();
    for (let stream = 0; stream < 4; stream++) {
      for (let counter = 0; counter < 64; counter++) {
        const u = sampleUniform(5, stream, counter);
        assert.ok(u >= 0, `draw ${u}`);
        assert.ok(u < 1, `draw ${u}`);
        draws.add(u);
      }
    }
    assert.ok(draws.size > 250, `only ${draws.size} distinct draws of 256`);
    assert.notEqual(sampleUniform(5, 0, 0), sampleUniform(6, 0, 0));
  });
});
