// Checks of lab requests in the engine worker, and the result it sends, without a GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LAB_DEFAULTS, type LabOptions, type LabResult } from '../../gpu/lab/lab';
import { TokenRole } from '../../gpu/lab/tasks';
import { TrainingDivergedError } from '../../gpu/train/trainer';
import { checkLabOptions, labError, toLabRunResult } from '../../renderer/engine/lab-session';

const COPYING = LAB_DEFAULTS['selective-copying'];

test('checkLabOptions accepts the defaults', () => {
  assert.equal(checkLabOptions(COPYING), null);
  assert.equal(checkLabOptions(LAB_DEFAULTS['induction-heads']), null);
});

test('checkLabOptions names the invalid value', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /options are missing/],
    [{ ...COPYING, task: undefined }, /no task/],
    [{ ...COPYING, task: { task: 'sorting' } }, /Unknown lab task "sorting"/],
    [{ ...COPYING, dModel: 5000 }, /dModel = 5000 must be an integer from 1 to 1024/],
    [{ ...COPYING, nLayers: 0 }, /nLayers = 0/],
    [{ ...COPYING, steps: 1.5 }, /steps = 1.5/],
    [{ ...COPYING, batchSize: '8' }, /batchSize = "8"/],
    [{ ...COPYING, evalLengthFactors: 'all' }, /evalLengthFactors must be a list/],
    [{ ...COPYING, evalLengthFactors: [1, 0] }, /length factor 0 must be a positive integer/],
    [{ ...COPYING, task: { task: 'selective-copying', contextLength: 4, dataVocab: 4, memorize: 5 } }, /memorize = 5 tokens do not fit in contextLength = 4/],
    [{ ...COPYING, task: { task: 'selective-copying', contextLength: 2000, dataVocab: 4, memorize: 4 } }, /2004 tokens long, above the maximum of 1024/],
    [{ ...COPYING, task: { task: 'selective-copying', contextLength: 64, dataVocab: 5000, memorize: 4 } }, /dataVocab = 5000 is above the maximum of 4096/],
    [{ ...LAB_DEFAULTS['induction-heads'], task: { task: 'induction-heads', length: 1000, dataVocab: 8 }, evalLengthFactors: [1, 128] }, /longest evaluated sequence is 128000 tokens/],
    [{ ...COPYING, peakLr: 0 }, /peakLr = 0/],
    [{ ...COPYING, layer: 's5' }, /layer = "s5"; use "s6" or "s4"/],
  ];
  for (const [options, expected] of cases) {
    assert.match(checkLabOptions(options) ?? 'no problem', expected, JSON.stringify(options));
  }
});

test('labError maps divergence and other errors', () => {
  const diverged = labError(new Error('Lab training diverged at step 7: 5 steps in a row had a non-finite loss NaN. Lower the learning rate.'));
  assert.equal(diverged.code, 'training-diverged');
  assert.match(diverged.message, /step 7/);
  assert.equal(labError(new TrainingDivergedError(3, 5, 'loss NaN')).code, 'training-diverged');
  assert.equal(labError(new Error('something broke')).code, 'internal');
});

test('toLabRunResult drops weights and keeps delta', () => {
  const options: LabOptions = { ...COPYING, steps: 3 };
  const delta = [new Float32Array(8), new Float32Array(8)];
  const result = {
    options,
    config: { vocabSize: 6 },
    parameterCount: 10,
    vocabulary: { size: 6, dataVocab: 4, names: ['0', '1', '2', '3', 'noise', 'marker'] },
    stepsRun: 3,
    endedEarly: false,
    skippedSteps: 0,
    finalLoss: 1,
    trainSec: 1,
    evalSec: 1,
    accuracy: 0.5,
    evaluations: [],
    checks: [],
    deltaByRole: [{ layer: 0, meanDelta: { [TokenRole.Noise]: 0.1 }, channelMeanDelta: {}, positions: {} }],
    deltaProfile: [],
    example: {
      tokens: new Uint32Array(4),
      roles: new Uint8Array(4),
      targets: new Uint32Array(4),
      answerMask: new Float32Array(4),
      predictions: new Uint32Array(4),
      layers: delta.map((values) => ({ delta: values, gate: new Float32Array(8), stateNorm: new Float32Array(8) })),
      channels: 2,
    },
    parameters: new Map([['lm_head.weight', new Float32Array(1)]]),
  } as unknown as LabResult;
  const sent = toLabRunResult(result);
  assert.equal('parameters' in sent, false);
  assert.equal(sent.example.delta.length, 2);
  assert.equal(sent.example.delta[1], delta[1]);
  assert.equal('layers' in sent.example, false);
  assert.equal(sent.example.channels, 2);
  assert.equal(sent.deltaByRole[0]!.meanDelta[TokenRole.Noise], 0.1);
});
