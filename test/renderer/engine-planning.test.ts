import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ShapeError } from '../../gpu/context';
import { CheckpointError } from '../../gpu/model/checkpoint';
import { TrainingDivergedError } from '../../gpu/train/trainer';
import { backendError } from '../../renderer/engine/backend-errors';
import { checkGenerateConfig } from '../../renderer/engine/generation-session';
import { batchInputs, planInspection, samplesPerTraceStep, TracePooler, type InspectionLimits } from '../../renderer/engine/inspection-plan';
import { promptTail } from '../../renderer/engine/limits';
import type { TrainConfig } from '../../renderer/engine/protocol';
import { buildSplit, checkTrainConfig, trainOptionsFor } from '../../renderer/engine/training-session';

const LIMITS: InspectionLimits = { segmentSamples: 100, warmupSamples: 20, maxRows: 400 };

test('inspection plan of a short span is one exact segment', () => {
  const plan = planInspection(90, 10, LIMITS);
  assert.equal(plan.inputLength, 90);
  assert.equal(plan.batchSize, 1);
  assert.deepEqual(plan.segments, [{ inputStart: 0, outputStart: 10, outputEnd: 90 }]);
});

test('inspection plan covers every output once', () => {
  const total = 1000;
  const context = 15;
  const plan = planInspection(total, context, LIMITS);
  assert.equal(plan.inputLength, 120);
  assert.equal(plan.batchSize, 3);

  const covered = new Uint8Array(total);
  for (const segment of plan.segments) {
    // Every later segment re-reads the warm-up before its outputs, within one input window.
    if (segment.inputStart > 0) assert.equal(segment.outputStart - segment.inputStart, LIMITS.warmupSamples);
    assert.ok(segment.outputEnd <= segment.inputStart + plan.inputLength);
    for (let position = segment.outputStart; position < segment.outputEnd; position++) covered[position]!++;
  }
  for (let position = 0; position < total; position++) assert.equal(covered[position], position < context ? 0 : 1, `position ${position}`);
});

test('inspection plan on a U-Net grid', () => {
  for (const [total, context, align] of [
    [1000, 15, 8],
    [1000, 0, 6],
    [90, 10, 16],
    [121, 3, 4],
  ] as const) {
    const plan = planInspection(total, context, LIMITS, align);
    const label = `${total} codes, grid ${align}`;
    assert.equal(plan.inputLength % align, 0, `${label}: input length ${plan.inputLength}`);
    const covered = new Uint8Array(total);
    for (const segment of plan.segments) {
      assert.equal(segment.inputStart % align, 0, `${label}: segment start ${segment.inputStart}`);
      if (segment.inputStart > 0) assert.ok(segment.outputStart - segment.inputStart >= LIMITS.warmupSamples, `${label}: warm-up before ${segment.outputStart}`);
      assert.ok(segment.outputEnd <= segment.inputStart + plan.inputLength, `${label}: segment ending at ${segment.outputEnd}`);
      for (let position = segment.outputStart; position < segment.outputEnd; position++) covered[position]!++;
    }
    for (let position = 0; position < total; position++) assert.equal(covered[position], position < context ? 0 : 1, `${label}: position ${position}`);
  }
  // A short span is padded up to the grid.
  assert.equal(planInspection(90, 10, LIMITS, 16).inputLength, 96);
});

test('trace pooler spreads a pooled row over its samples', () => {
  // One channel, B = 1, rows of stride 2: row k has the value k and covers samples 2k and 2k + 1.
  const values = Float32Array.from([0, 1, 2, 3]);
  const pooler = new TracePooler(6, 1, 1, 1);
  pooler.add(values, [{ inputStart: 0, outputStart: 1, outputEnd: 7 }], 1, 2);
  assert.deepEqual([...pooler.result()], [0, 1, 1, 2, 2, 3]);
});

test('inspection plan rejects context longer than the warm-up', () => {
  assert.throws(() => planInspection(500, 21, LIMITS), RangeError);
  assert.throws(() => planInspection(10, 10, LIMITS), RangeError);
});

test('batch inputs are time-major and padded', () => {
  const codes = Uint8Array.from({ length: 7 }, (_, i) => 10 + i);
  const segments = [
    { inputStart: 0, outputStart: 0, outputEnd: 4 },
    { inputStart: 3, outputStart: 4, outputEnd: 7 },
  ];
  const inputs = batchInputs(codes, segments, 5, 3, 128);
  // Row t contains [segment 0, segment 1, unused slot].
  assert.deepEqual([...inputs.subarray(0, 3)], [10, 13, 128]);
  assert.deepEqual([...inputs.subarray(3, 6)], [11, 14, 128]);
  // Segment 1 reads past the last code at t = 4: padding.
  assert.deepEqual([...inputs.subarray(12, 15)], [14, 128, 128]);
});

test('trace pooler averages reported rows per step', () => {
  // Two channels, B = 2, L = 3. Slot b contains the value 100 * b + 10 * t + channel.
  const values = new Float32Array(3 * 2 * 2);
  for (let t = 0; t < 3; t++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) values[(t * 2 + b) * 2 + c] = 100 * b + 10 * t + c;
  const segments = [
    { inputStart: 0, outputStart: 1, outputEnd: 3 },
    { inputStart: 2, outputStart: 3, outputEnd: 5 },
  ];
  const pooler = new TracePooler(4, 2, 2, 1);
  pooler.add(values, segments, 2);
  assert.equal(pooler.timeSteps, 2);
  // Step 0: positions 1 and 2 of slot 0 (t = 1, 2). Step 1: positions 3 and 4 of slot 1 (t = 1, 2).
  assert.deepEqual([...pooler.result()], [15, 16, 115, 116]);
});

test('trace step size keeps traces under the budget', () => {
  assert.equal(samplesPerTraceStep(16_000, 32, 2, 3, 16 * 2 ** 20), 1);
  const step = samplesPerTraceStep(160_000, 128, 4, 3, 16 * 2 ** 20);
  assert.equal(step, 15);
  assert.ok(Math.ceil(160_000 / step) * 128 * 4 * 3 <= 16 * 2 ** 20);
});

const CONFIG: TrainConfig = {
  learningRate: 1e-3,
  batchSize: 4,
  windowSamples: 100,
  maxSteps: 50,
  validationFraction: 0.1,
  weightDecay: 0.1,
  gradClipNorm: 1,
  validateEverySteps: 10,
  checkpointEverySteps: 25,
  seed: 3,
};

test('training split repeats a short validation part', () => {
  const { split, evalWindows, reportValidation } = buildSplit(new Uint8Array(1000), new Uint8Array(250), CONFIG);
  assert.equal(reportValidation, true);
  // 250 codes hold two windows of 100 + 1; two copies make one batch of four.
  assert.equal(split.heldOut.length, 2);
  assert.equal(evalWindows, 4);
});

test('training split without validation validates on the training span silently', () => {
  const train = new Uint8Array(1000);
  const { split, evalWindows, reportValidation } = buildSplit(train, new Uint8Array(0), CONFIG);
  assert.equal(reportValidation, false);
  assert.equal(split.heldOut[0]?.codes, train);
  assert.equal(evalWindows, CONFIG.batchSize);
  assert.equal(trainOptionsFor(CONFIG, evalWindows, reportValidation).evalEvery, 0);
});

test('training split rejects spans shorter than a window', () => {
  assert.throws(() => buildSplit(new Uint8Array(100), new Uint8Array(500), CONFIG), (error: { code?: string }) => error.code === 'invalid-input');
  assert.throws(() => buildSplit(new Uint8Array(500), new Uint8Array(100), CONFIG), (error: { code?: string }) => error.code === 'invalid-input');
});

test('training options follow the settings', () => {
  const options = trainOptionsFor(CONFIG, 8, true);
  assert.equal(options.peakLr, 1e-3);
  assert.equal(options.minLr, 1e-4);
  assert.equal(options.warmupSteps, 5);
  assert.equal(options.steps, 50);
  assert.equal(options.evalEvery, 10);
  assert.equal(options.checkpointEvery, 25);
  assert.equal(options.gradClip, 1);
  assert.equal(options.seed, 3);
});

test('training settings are checked', () => {
  assert.equal(checkTrainConfig(CONFIG), null);
  assert.match(checkTrainConfig({ ...CONFIG, batchSize: 0 }) ?? '', /batchSize = 0/);
  assert.match(checkTrainConfig({ ...CONFIG, learningRate: 2 }) ?? '', /learningRate = 2/);
  assert.match(checkTrainConfig({ ...CONFIG, windowSamples: 1.5 }) ?? '', /windowSamples = 1.5/);
});

test('generation settings are checked against the model', () => {
  const config = { lengthSec: 1, temperature: 1, topP: 0.9, seed: 1, sampleRateHz: 16_000 };
  assert.equal(checkGenerateConfig(config, 16_000), null);
  assert.match(checkGenerateConfig(config, 8000) ?? '', /8000 Hz/);
  assert.match(checkGenerateConfig({ ...config, topP: 0 }, 16_000) ?? '', /Top-p 0/);
  assert.match(checkGenerateConfig({ ...config, seed: -1 }, 16_000) ?? '', /Seed -1/);
});

test('prompt tail keeps the last seconds', () => {
  const prompt = Uint8Array.from({ length: 100_000 }, (_, i) => i % 256);
  const tail = promptTail(prompt, 16_000);
  assert.equal(tail.length, 32_000);
  assert.equal(tail.at(-1), prompt.at(-1));
  assert.equal(promptTail(prompt.subarray(0, 10), 16_000).length, 10);
});

test('engine errors map to their codes', () => {
  assert.equal(backendError(new CheckpointError('x.safetensors: tensor A_log is missing')).code, 'bad-checkpoint');
  assert.equal(backendError(new TrainingDivergedError(3, 5, 'loss NaN')).code, 'training-diverged');
  assert.equal(backendError(new ShapeError('Buffer "logits" needs 9 bytes, over this device\'s maxBufferSize of 8.')).code, 'out-of-memory');
  assert.equal(backendError(new ShapeError('Tensor "x" has invalid shape [-1]')).code, 'internal');
  const structured = { code: 'busy' as const, message: 'Generation is running.', hint: 'Stop it.' };
  assert.equal(backendError(structured), structured);
});
