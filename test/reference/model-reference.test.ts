// The CPU reference Mamba block against the authors' Mamba module outputs (forward,
// intermediates, final states), and the model forward's consistency properties.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { mambaBlockRef, modelForwardRef, type BlockParameters } from '../../gpu/reference/model';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { assertClose } from '../support/compare';
import { f32, loadOracle, type OracleTensor } from '../support/oracle';

const TOLERANCE = { rtol: 1e-5, atol: 1e-6 };

/** (batch, L, C) batch-first to (L, batch, C) time-major. */
function batchFirstToTimeMajor(data: Float32Array, batch: number, L: number, C: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < L; t++) out.set(data.subarray((b * L + t) * C, (b * L + t + 1) * C), (t * batch + b) * C);
  return out;
}

/** (batch, C, L) channels-first to (L, batch, C). */
function channelsFirstToTimeMajor(data: Float32Array, batch: number, C: number, L: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++) for (let c = 0; c < C; c++) for (let t = 0; t < L; t++) out[(t * batch + b) * C + c] = data[(b * C + c) * L + t];
  return out;
}

export function oracleBlock(file: string) {
  const oracle = loadOracle(file);
  const params = oracle.params as Record<string, OracleTensor>;
  const [batch, L, D] = oracle.input.shape as number[];
  const cfg = oracle.config;
  const dims = { B: batch, L, D, DI: cfg.d_inner, N: cfg.d_state, R: cfg.dt_rank, K: cfg.d_conv };
  const block: BlockParameters = {
    inProj: f32(params['in_proj.weight']),
    convWeight: f32(params['conv1d.weight']),
    convBias: f32(params['conv1d.bias']),
    xProjWeight: f32(params['x_proj.weight']),
    xProjBias: null,
    dtProjWeight: f32(params['dt_proj.weight']),
    dtProjBias: f32(params['dt_proj.bias']),
    aLog: f32(params.A_log),
    D: f32(params.D),
    outProj: f32(params['out_proj.weight']),
  };
  return { oracle, dims, block, x: batchFirstToTimeMajor(f32(oracle.input), batch, L, D) };
}

for (const file of ['mamba_block.json', 'mamba_block_b2_L3.json']) {
  describe(`Mamba block reference vs ${file}`, () => {
    const { oracle, dims, block, x } = oracleBlock(file);
    const { B, L, D, DI, N, K } = dims;
    const result = mambaBlockRef(dims, block, x);
    const inter = oracle.intermediates;

    test('output', () => {
      assertClose(result.out, batchFirstToTimeMajor(f32(oracle.output), B, L, D), TOLERANCE, 'out');
    });
    test('intermediates', () => {
      assertClose(result.xz, channelsFirstToTimeMajor(f32(inter.xz), B, 2 * DI, L), TOLERANCE, 'xz');
      assertClose(result.u, channelsFirstToTimeMajor(f32(inter.x_conv_silu), B, DI, L), TOLERANCE, 'x_conv_silu');
      // x_dbl rows are ordered (b, l) there.
      assertClose(result.xDbl, batchFirstToTimeMajor(f32(inter.x_dbl), B, L, dims.R + 2 * N), TOLERANCE, 'x_dbl');
      assertClose(result.deltaRaw, channelsFirstToTimeMajor(f32(inter.dt_before_bias), B, DI, L), TOLERANCE, 'dt_before_bias');
      assertClose(result.y, channelsFirstToTimeMajor(f32(inter.y_gated), B, DI, L), TOLERANCE, 'y_gated');
    });
    test('final states', () => {
      assertClose(result.ssmState, f32(inter.ssm_last_state), TOLERANCE, 'ssm_last_state');
      assertClose(result.convState, f32(inter.conv_state_after_forward), TOLERANCE, 'conv_state_after_forward');
      assert.equal(result.convState.length, B * DI * K);
    });
    test('prefill then continue equals one forward', () => {
      const P = oracle.prefill_then_step.prefill_len as number;
      const first = mambaBlockRef({ ...dims, L: P }, block, x.subarray(0, P * B * D));
      const rest = mambaBlockRef({ ...dims, L: L - P }, block, x.subarray(P * B * D), first);
      const joined = new Float32Array(L * B * D);
      joined.set(first.out);
      joined.set(rest.out, P * B * D);
      assertClose(joined, batchFirstToTimeMajor(f32(oracle.prefill_then_step.output), B, L, D), TOLERANCE, 'prefill then step');
    });
  });
}

describe('model forward reference', () => {
  test('is causal and batch-independent', () => {
    const config = resolveConfig({ dModel: 16, nLayers: 2, dState: 4, expand: 2, vocabSize: 16, encoding: 'tokens', selective: [true, false] });
    const params = initParameters(config, 7);
    const L = 9;
    const codes = Array.from({ length: L * 2 }, (_, i) => (i * 7) % 16);
    const full = modelForwardRef(config, params, codes, 2);
    // Changing the last time step must not change earlier logits.
    const changed = codes.slice();
    changed[(L - 1) * 2] = (changed[(L - 1) * 2] + 1) % 16;
    const other = modelForwardRef(config, params, changed, 2);
    const V = 16;
    assertClose(other.logits.subarray(0, (L - 1) * 2 * V), full.logits.subarray(0, (L - 1) * 2 * V), { rtol: 0, atol: 0 }, 'earlier logits');
    assert.notDeepEqual(other.logits.subarray((L - 1) * 2 * V), full.logits.subarray((L - 1) * 2 * V));
    // Sequence 1 alone gives the same logits as inside the batch.
    const alone = modelForwardRef(config, params, codes.filter((_, i) => i % 2 === 1), 1);
    const fromBatch = new Float32Array(L * V);
    for (let t = 0; t < L; t++) fromBatch.set(full.logits.subarray((t * 2 + 1) * V, (t * 2 + 2) * V), t * V);
    assertClose(alone.logits, fromBatch, { rtol: 1e-6, atol: 1e-7 }, 'sequence alone');
  });
});
