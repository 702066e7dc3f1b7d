// The selectivity lab end to end on the GPU: a small Selective Copying run separates
// selective (s6) from non-selective (s4) blocks, and the API's progress, abort and
// clean-up contracts hold.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LAB_DEFAULTS, runLab, validateLabOptions, type LabOptions, type LabResult } from '../../gpu/lab/lab';
import { TokenRole } from '../../gpu/lab/tasks';
import { gpuTest } from '../support/gpu';

/**
 * A Selective Copying size that trains in about 20 s per model on two idle CPU cores
 * (lavapipe), yet needs selection: 2 of 8 data tokens at random places among 16 context
 * positions, chance 12.5%. Measured on that machine: s6 99% and s4 50% with seed 1; with
 * seeds 2 and 3, s6 89% and 97%, s4 71% and 50%.
 */
const SMALL: LabOptions = {
  ...LAB_DEFAULTS['selective-copying'],
  task: { task: 'selective-copying', contextLength: 16, dataVocab: 8, memorize: 2 },
  dModel: 32,
  nLayers: 2,
  dState: 8,
  steps: 250,
  batchSize: 16,
  peakLr: 1e-2,
  minLr: 1e-3,
  warmupSteps: 10,
  evalEvery: 0,
  checkSequences: 32,
  evalSequences: 128,
  evalBatchSize: 64,
  traceSequences: 16,
  seed: 1,
};

describe('selectivity lab', () => {
  let selective: LabResult | null = null;
  let ablation: LabResult | null = null;

  gpuTest(
    'selective blocks learn selective copying',
    async (ctx, t) => {
      const steps: number[] = [];
      const phases: string[] = [];
      selective = await runLab(ctx, { ...SMALL, layer: 's6' }, { onStep: (report) => steps.push(report.step), onPhase: (phase) => phases.push(phase) });
      assert.deepEqual(steps, Array.from({ length: SMALL.steps }, (_, i) => i + 1));
      assert.deepEqual(phases, ['training', 'evaluating', 'inspecting']);
      assert.equal(selective.evaluations.length, 1);
      assert.equal(selective.evaluations[0].answers, SMALL.evalSequences * 2);
      t.diagnostic(`s6 accuracy ${selective.accuracy.toFixed(3)} after ${SMALL.steps} steps`);
      assert.ok(selective.accuracy >= 0.85, `s6 accuracy ${selective.accuracy}`);
    },
    { timeout: 300_000 },
  );

  gpuTest(
    'non-selective ablation stays far below',
    async (ctx, t) => {
      assert.ok(selective, 'the s6 run must have finished');
      ablation = await runLab(ctx, { ...SMALL, layer: 's4' });
      t.diagnostic(`s4 accuracy ${ablation.accuracy.toFixed(3)}, s6 ${selective.accuracy.toFixed(3)}`);
      assert.ok(ablation.accuracy <= selective.accuracy - 0.25, `s4 ${ablation.accuracy} against s6 ${selective.accuracy}`);
    },
    { timeout: 300_000 },
  );

  gpuTest('delta depends on the input only in s6', async () => {
    assert.ok(selective, 'the s6 run must have finished');
    assert.ok(ablation, 'the s4 run must have finished');
    // NOTE: at this size the trained s6 model does not open delta more on the tokens to
    // remember than on the noise: with seed 1 the means are 0.0218 and 0.0213 in layer 0,
    // 0.0201 and 0.0217 in layer 1. So this test checks only what is true by construction.
    for (const layer of ablation.deltaByRole) {
      const noise = layer.meanDelta[TokenRole.Noise]!;
      assert.ok(Math.abs(layer.meanDelta[TokenRole.Memorize]! - noise) <= 1e-6 * noise, `s4 layer ${layer.layer}`);
      assert.ok(Math.abs(layer.meanDelta[TokenRole.Marker]! - noise) <= 1e-6 * noise, `s4 layer ${layer.layer}`);
    }
    const spread = (values: Float32Array) => Math.max(...values) - Math.min(...values);
    const s4Layer = ablation.example.layers[0].delta;
    const s6Layer = selective.example.layers[0].delta;
    const DI = selective.example.channels;
    const channelOverTime = (data: Float32Array, channel: number) => data.filter((_, i) => i % DI === channel);
    assert.ok(spread(channelOverTime(s4Layer, 0)) <= 1e-6, 's4 delta of channel 0 changes over time');
    assert.ok(spread(channelOverTime(s6Layer, 0)) > 1e-4, 's6 delta of channel 0 is constant over time');
  });

  gpuTest('example sequence with traces', async () => {
    assert.ok(selective, 'the s6 run must have finished');
    const { example, config } = selective;
    const L = 16 + 2;
    const DI = config.expand * config.dModel;
    assert.equal(example.tokens.length, L);
    assert.equal(example.roles.length, L);
    assert.equal(example.predictions.length, L);
    assert.equal(example.channels, DI);
    assert.equal(example.layers.length, config.nLayers);
    for (const layer of example.layers) {
      assert.equal(layer.delta.length, L * DI);
      assert.ok(layer.delta.every((value) => value > 0 && Number.isFinite(value)), 'delta is a positive softplus');
    }
    assert.deepEqual(Array.from(example.answerMask), [...Array(16).fill(0), 1, 1]);
  });

  gpuTest('abort rejects and frees the model', async (ctx) => {
    const before = ctx.memoryStats();
    const controller = new AbortController();
    const run = runLab(ctx, { ...SMALL, steps: 50 }, {
      signal: controller.signal,
      onStep: (report) => {
        if (report.step === 2) controller.abort();
      },
    });
    await assert.rejects(run, { name: 'AbortError' });
    assert.deepEqual(ctx.memoryStats(), before);
  });

  gpuTest('stopTraining ends training and still evaluates', async (ctx) => {
    const stop = new AbortController();
    const result = await runLab(ctx, { ...SMALL, steps: 50, evalSequences: 16 }, {
      stopTraining: stop.signal,
      onStep: (report) => {
        if (report.step === 3) stop.abort();
      },
    });
    assert.equal(result.stepsRun, 3);
    assert.equal(result.endedEarly, true);
    assert.equal(result.evaluations[0].sequences, 16);
  });
});

describe('lab options', () => {
  test('invalid options are rejected', () => {
    assert.throws(() => validateLabOptions({ ...SMALL, steps: 0 }), /steps = 0/);
    assert.throws(() => validateLabOptions({ ...SMALL, layer: 's5' as never }), /layer = "s5"/);
    assert.throws(() => validateLabOptions({ ...SMALL, minLr: 1, peakLr: 0.1 }), /minLr/);
    assert.throws(() => validateLabOptions({ ...SMALL, evalLengthFactors: [] }), /evalLengthFactors/);
    assert.throws(() => validateLabOptions({ ...SMALL, evalLengthFactors: [0.5] }), /factor 0.5/);
    assert.throws(() => validateLabOptions({ ...SMALL, dtMin: 0 }), /dtMin/);
    assert.doesNotThrow(() => validateLabOptions(SMALL));
  });
});
