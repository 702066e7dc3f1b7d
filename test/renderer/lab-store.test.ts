// The Lab view's store and its pure helpers: presets, the options built from the form,
// the form's checks, progress reduction, and the run's life cycle over a fake engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LAB_DEFAULTS, type LabOptions } from '../../gpu/lab/options';
import { TokenRole } from '../../gpu/lab/tasks';
import type { LabProgress, LabRunResult } from '../../renderer/engine/protocol';
import {
  checkLabSettings,
  createLabStore,
  DEFAULT_LAB_SETTINGS,
  labOptionsFor,
  labSequenceLength,
  optionDifferences,
  presetOptions,
  reduceLabProgress,
  settingsFromPreset,
  type LabRunProgress,
  type LabSettings,
} from '../../renderer/state/lab-store';
import { fakeEngine } from './fakes';

const STEP = { totalSteps: 10, gradNorm: 0.5, lr: 0.01, tokensPerSec: 1000, elapsedSec: 1 };

function step(stepNumber: number, loss: number): LabProgress {
  return { kind: 'step', step: stepNumber, loss, ...STEP };
}

function accuracy(value: number, length = 18) {
  return { length, sequences: 32, answers: 64, accuracy: value, sequenceAccuracy: value, accuracyByAnswer: [value, value] };
}

/** Builds a finished result for `options`, with a 4-token example and 2 channels per layer. */
function fakeResult(options: LabOptions): LabRunResult {
  return {
    options,
    config: { vocabSize: 10, dModel: 1, nLayers: 2, dState: 2, expand: 2, dtRank: 1, dConv: 4, rmsNormEps: 1e-5, selective: [true, true], sampleRateHz: 0, encoding: 'tokens' },
    parameterCount: 100,
    vocabulary: { size: 10, dataVocab: 8, names: ['0', '1', '2', '3', '4', '5', '6', '7', 'noise', 'marker'] },
    stepsRun: options.steps,
    endedEarly: false,
    skippedSteps: 0,
    finalLoss: 0.1,
    trainSec: 2,
    evalSec: 0.5,
    accuracy: 0.9,
    evaluations: [{ factor: 1, ...accuracy(0.9) }],
    checks: [{ step: options.steps, ...accuracy(0.85) }],
    deltaByRole: [],
    deltaProfile: [],
    example: {
      tokens: Uint32Array.from([8, 3, 8, 9]),
      roles: Uint8Array.from([TokenRole.Noise, TokenRole.Memorize, TokenRole.Noise, TokenRole.Marker]),
      targets: Uint32Array.from([0, 0, 0, 3]),
      answerMask: Float32Array.from([0, 0, 0, 1]),
      predictions: Uint32Array.from([8, 8, 8, 3]),
      channels: 2,
      delta: [new Float32Array(8), new Float32Array(8)],
    },
  };
}

test('standard preset is the CLI defaults', () => {
  for (const task of ['selective-copying', 'induction-heads'] as const) {
    assert.deepEqual(presetOptions('standard', task), LAB_DEFAULTS[task]);
  }
});

test('quick preset is smaller than standard', () => {
  for (const task of ['selective-copying', 'induction-heads'] as const) {
    const quick = presetOptions('quick', task);
    const standard = presetOptions('standard', task);
    assert.equal(quick.task.task, task);
    assert.ok(quick.steps * quick.batchSize < standard.steps * standard.batchSize, `${task}: ${quick.steps} x ${quick.batchSize}`);
    assert.ok(quick.evalSequences < standard.evalSequences, `${task} evaluation sequences`);
  }
});

test('presetOptions returns copies', () => {
  const first = presetOptions('quick', 'induction-heads');
  first.evalLengthFactors.push(99);
  (first.task as { length: number }).length = 999;
  const second = presetOptions('quick', 'induction-heads');
  assert.deepEqual(second.evalLengthFactors, [1, 4]);
  assert.equal(second.task.task === 'induction-heads' && second.task.length, 16);
});

test('settingsFromPreset keeps layer and seed', () => {
  const settings = settingsFromPreset('standard', 'selective-copying', { layer: 's4', seed: 7 });
  assert.deepEqual(settings, { preset: 'standard', task: 'selective-copying', layer: 's4', length: 64, vocab: 4, memorize: 4, steps: 800, seed: 7 });
  const induction = settingsFromPreset('standard', 'induction-heads', { layer: 's6', seed: 1 });
  assert.equal(induction.length, 32);
  assert.equal(induction.vocab, 8);
  assert.equal(induction.steps, 300);
});

test('labOptionsFor applies the form to the preset', () => {
  const settings: LabSettings = { ...DEFAULT_LAB_SETTINGS, layer: 's4', length: 12, vocab: 5, memorize: 3, steps: 80, seed: 9 };
  const options = labOptionsFor(settings);
  assert.deepEqual(options.task, { task: 'selective-copying', contextLength: 12, dataVocab: 5, memorize: 3 });
  assert.equal(options.layer, 's4');
  assert.equal(options.steps, 80);
  assert.equal(options.seed, 9);
  assert.equal(options.dModel, presetOptions('quick', 'selective-copying').dModel);
  // Warm-up is at most a tenth of the run, min(10, 8); the check every 50 steps stays.
  assert.equal(options.warmupSteps, 8);
  assert.equal(options.evalEvery, 50);
  assert.equal(labSequenceLength(settings), 15);
});

test('labOptionsFor shortens warm-up and checks for short runs', () => {
  const options = labOptionsFor({ ...DEFAULT_LAB_SETTINGS, steps: 5 });
  assert.equal(options.warmupSteps, 0);
  assert.equal(options.evalEvery, 0);
  const induction = labOptionsFor(settingsFromPreset('quick', 'induction-heads', { layer: 's6', seed: 1 }));
  assert.deepEqual(induction.task, { task: 'induction-heads', length: 16, dataVocab: 8 });
  assert.deepEqual(induction.evalLengthFactors, [1, 4]);
});

test('checkLabSettings accepts the defaults', () => {
  assert.equal(checkLabSettings(DEFAULT_LAB_SETTINGS), null);
  assert.equal(checkLabSettings(settingsFromPreset('standard', 'induction-heads', { layer: 's4', seed: 0 })), null);
});

test('checkLabSettings names the invalid field', () => {
  const cases: Array<[Partial<LabSettings>, RegExp]> = [
    [{ memorize: 20, length: 16 }, /Tokens to memorize is 20; use a whole number from 1 to 16/],
    [{ vocab: 1 }, /Vocabulary is 1/],
    [{ steps: 2.5 }, /Steps is 2.5/],
    [{ steps: 0 }, /Steps is 0/],
    [{ seed: -1 }, /Seed is -1/],
    [{ length: 5000 }, /Sequence length \(context positions\) is 5000/],
    [{ length: 1020, memorize: 10 }, /model input would be 1030 tokens/],
  ];
  for (const [patch, expected] of cases) {
    const problem = checkLabSettings({ ...DEFAULT_LAB_SETTINGS, ...patch });
    assert.match(problem ?? 'no problem', expected, JSON.stringify(patch));
  }
  const induction = { ...settingsFromPreset('quick', 'induction-heads', { layer: 's6', seed: 1 }), length: 2 };
  assert.match(checkLabSettings(induction) ?? '', /Sequence length is 2; use a whole number from 3/);
  // Induction heads ignores the tokens to memorize.
  assert.equal(checkLabSettings({ ...settingsFromPreset('quick', 'induction-heads', { layer: 's6', seed: 1 }), memorize: 500 }), null);
});

test('optionDifferences lists what differs besides the layer', () => {
  const base = labOptionsFor(DEFAULT_LAB_SETTINGS);
  assert.deepEqual(optionDifferences(base, { ...base, layer: 's4' }), []);
  const other = labOptionsFor({ ...DEFAULT_LAB_SETTINGS, seed: 2, length: 20, steps: 30 });
  assert.deepEqual(optionDifferences(base, other), ['sequence length', 'steps', 'seed']);
  const induction = labOptionsFor(settingsFromPreset('quick', 'induction-heads', { layer: 's6', seed: 1 }));
  assert.deepEqual(optionDifferences(base, induction), ['task']);
});

test('reduceLabProgress builds the loss curve and checks', () => {
  let run: LabRunProgress = { runId: 1, options: labOptionsFor(DEFAULT_LAB_SETTINGS), phase: null, history: [], latest: null, checks: [], evaluations: [], skippedSteps: 0 };
  run = reduceLabProgress(run, { kind: 'phase', phase: 'training' });
  run = reduceLabProgress(run, step(1, 2.0));
  run = reduceLabProgress(run, step(2, 1.5));
  run = reduceLabProgress(run, { kind: 'skip', step: 3, reason: 'loss NaN' });
  run = reduceLabProgress(run, { kind: 'check', step: 2, ...accuracy(0.4) });
  run = reduceLabProgress(run, { kind: 'check', step: 2, ...accuracy(0.5) });
  run = reduceLabProgress(run, { kind: 'phase', phase: 'evaluating' });
  run = reduceLabProgress(run, { kind: 'eval', factor: 1, ...accuracy(0.6) });
  assert.equal(run.phase, 'evaluating');
  assert.deepEqual(run.history, [
    { step: 1, loss: 2.0 },
    { step: 2, loss: 1.5 },
  ]);
  assert.equal(run.latest?.step, 2);
  assert.equal(run.skippedSteps, 1);
  assert.deepEqual(run.checks.map((check) => [check.step, check.accuracy]), [[2, 0.5]]);
  assert.deepEqual(run.evaluations.map((entry) => entry.accuracy), [0.6]);
});

test('lab store runs, keeps S6 and S4 results', async () => {
  const engine = fakeEngine({ lab: () => ({ accepted: true }) });
  const lab = createLabStore(() => engine);

  await lab.getState().start();
  const first = engine.requests[0]!.payload as { action: 'start'; runId: number; options: LabOptions };
  assert.equal(first.action, 'start');
  assert.deepEqual(first.options, labOptionsFor(DEFAULT_LAB_SETTINGS));
  assert.equal(lab.getState().status, 'running');

  lab.getState().applyProgress(first.runId, { kind: 'phase', phase: 'training' });
  lab.getState().applyProgress(first.runId, step(1, 2.2));
  // Events of another run are ignored.
  lab.getState().applyProgress(first.runId + 5, step(2, 0.1));
  assert.deepEqual(lab.getState().run?.history, [{ step: 1, loss: 2.2 }]);

  lab.getState().applyEnd(first.runId, 'complete', fakeResult(first.options));
  assert.equal(lab.getState().status, 'finished');
  assert.equal(lab.getState().results.s6?.accuracy, 0.9);
  assert.equal(lab.getState().results.s4, null);
  assert.equal(lab.getState().lastLayer, 's6');
  assert.equal(lab.getState().run?.phase, null);

  lab.getState().setSettings({ layer: 's4' });
  await lab.getState().start();
  const second = engine.requests[1]!.payload as { action: 'start'; runId: number; options: LabOptions };
  assert.ok(second.runId > first.runId);
  assert.equal(second.options.layer, 's4');
  // A late event of the first run does not touch the second.
  lab.getState().applyEnd(first.runId, 'failed', undefined, { code: 'internal', message: 'old', hint: '' });
  assert.equal(lab.getState().status, 'running');
  lab.getState().applyEnd(second.runId, 'complete', fakeResult(second.options));
  assert.equal(lab.getState().results.s6?.options.layer, 's6');
  assert.equal(lab.getState().results.s4?.options.layer, 's4');
  assert.equal(lab.getState().lastLayer, 's4');
});

test('lab store rejects invalid settings before the engine', async () => {
  const engine = fakeEngine({ lab: () => ({ accepted: true }) });
  const lab = createLabStore(() => engine);
  lab.getState().setSettings({ vocab: 1 });
  await lab.getState().start();
  assert.equal(engine.requests.length, 0);
  assert.equal(lab.getState().status, 'failed');
  assert.equal(lab.getState().error?.code, 'invalid-input');
  assert.match(lab.getState().error?.message ?? '', /Vocabulary is 1/);
});

test('lab store shows a rejected start', async () => {
  const lab = createLabStore(() => fakeEngine());
  await lab.getState().start();
  assert.equal(lab.getState().status, 'failed');
  assert.equal(lab.getState().error?.code, 'engine-unavailable');
});

test('lab store cancels and stops', async () => {
  const engine = fakeEngine({ lab: () => ({ accepted: true }) });
  const lab = createLabStore(() => engine);
  await lab.getState().start();
  const { runId } = engine.requests[0]!.payload as { runId: number };
  lab.getState().applyProgress(runId, { kind: 'phase', phase: 'training' });

  await lab.getState().stop();
  assert.deepEqual(engine.requests[1]!.payload, { action: 'stop' });
  assert.equal(lab.getState().status, 'stopping');
  // Progress goes on after a stop: the run still evaluates.
  lab.getState().applyProgress(runId, { kind: 'phase', phase: 'evaluating' });
  assert.equal(lab.getState().run?.phase, 'evaluating');

  await lab.getState().cancel();
  assert.deepEqual(engine.requests[2]!.payload, { action: 'cancel' });
  assert.equal(lab.getState().status, 'cancelled');
  assert.equal(lab.getState().results.s6, null);

  // An end event after the run ended changes nothing.
  lab.getState().applyEnd(runId, 'complete', fakeResult(labOptionsFor(DEFAULT_LAB_SETTINGS)));
  assert.equal(lab.getState().status, 'cancelled');
  assert.equal(lab.getState().results.s6, null);
});

test('lab store keeps the end event over the cancel response', async () => {
  const engine = fakeEngine({ lab: () => ({ accepted: true }) });
  const lab = createLabStore(() => engine);
  await lab.getState().start();
  const { runId } = engine.requests[0]!.payload as { runId: number };
  const cancelled = lab.getState().cancel();
  lab.getState().applyEnd(runId, 'failed', undefined, { code: 'out-of-memory', message: 'no memory', hint: 'h' });
  await cancelled;
  assert.equal(lab.getState().status, 'failed');
  assert.equal(lab.getState().error?.code, 'out-of-memory');
});

test('lab store marks a run lost with the device', async () => {
  const lab = createLabStore(() => fakeEngine({ lab: () => ({ accepted: true }) }));
  lab.getState().failRun({ code: 'device-lost', message: 'lost', hint: 'h' });
  assert.equal(lab.getState().status, 'idle');
  await lab.getState().start();
  lab.getState().failRun({ code: 'device-lost', message: 'lost', hint: 'h' });
  assert.equal(lab.getState().status, 'failed');
  assert.equal(lab.getState().error?.code, 'device-lost');
});

test('lab store presets and task switch reset the sizes', () => {
  const lab = createLabStore(() => fakeEngine());
  lab.getState().setSettings({ layer: 's4', seed: 5, length: 30 });
  lab.getState().setTask('induction-heads');
  assert.deepEqual(lab.getState().settings, settingsFromPreset('quick', 'induction-heads', { layer: 's4', seed: 5 }));
  lab.getState().applyPreset('standard');
  assert.equal(lab.getState().settings.length, 32);
  assert.equal(lab.getState().settings.steps, 300);
  assert.equal(lab.getState().settings.layer, 's4');
});
