import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { SelectivityTrace } from '../../renderer/engine/protocol';
import { linearScale, niceTicks, paddedExtent } from '../../renderer/lib/chart-scale';
import { formatChannels, formatDuration, formatEta, formatLoss, formatModelShape, formatRate } from '../../renderer/lib/format';
import { cellAt, colorFor, renderHeatmap, valueRange } from '../../renderer/lib/heatmap';
import { sliceByRegion, splitForTraining } from '../../renderer/state/spans';
import { appendLossPoint, checkpointId } from '../../renderer/state/train-store';

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00.00');
  assert.equal(formatDuration(1.428), '0:01.43');
  assert.equal(formatDuration(59.999), '1:00.00');
  assert.equal(formatDuration(230.9), '3:50.90');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(-1), '–');
  assert.equal(formatDuration(Number.NaN), '–');
});

test('formatRate, formatChannels, formatEta, formatLoss', () => {
  assert.equal(formatRate(16000), '16 kHz');
  assert.equal(formatRate(44100), '44.1 kHz');
  assert.equal(formatRate(800), '800 Hz');
  assert.equal(formatChannels(1), 'mono');
  assert.equal(formatChannels(2), 'stereo');
  assert.equal(formatChannels(6), '6 channels');
  assert.equal(formatEta(45), '45 s');
  assert.equal(formatEta(200), '3 min 20 s');
  assert.equal(formatEta(7500), '2 h 5 min');
  assert.equal(formatLoss(2.345678), '2.346');
  assert.equal(formatLoss(undefined), '–');
});

test('formatModelShape names the backbone', () => {
  assert.equal(formatModelShape({ backbone: 'flat', poolFactors: [], layers: 4, modelWidth: 64 }), '4 layers · D 64');
  assert.equal(formatModelShape({ backbone: 'sashimi', poolFactors: [4, 4], layers: 10, modelWidth: 64 }), 'U-Net 4×4 · 10 blocks · D 64');
  assert.equal(formatModelShape({ backbone: 'sashimi', poolFactors: [], layers: 2, modelWidth: 32 }), 'U-Net without pooling · 2 blocks · D 32');
});

test('linearScale maps both ways', () => {
  const scale = linearScale([0, 10], [100, 200]);
  assert.equal(scale.toPixel(5), 150);
  assert.equal(scale.toValue(175), 7.5);
  assert.equal(linearScale([3, 3], [0, 10]).toPixel(3), 5);
});

test('niceTicks gives round steps inside the range', () => {
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(2.13, 2.87, 4), [2.2, 2.4, 2.6, 2.8]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.deepEqual(niceTicks(Number.NaN, 1), []);
});

test('paddedExtent', () => {
  assert.deepEqual(paddedExtent([1, 3]), [0.9, 3.1]);
  assert.deepEqual(paddedExtent([2, 2], 0.5), [1, 3]);
  assert.equal(paddedExtent([]), null);
  assert.equal(paddedExtent([Number.NaN]), null);
});

test('colorFor clamps and interpolates', () => {
  assert.deepEqual(colorFor(0), [8, 10, 30]);
  assert.deepEqual(colorFor(1), [252, 246, 190]);
  assert.deepEqual(colorFor(-5), colorFor(0));
  assert.deepEqual(colorFor(Number.NaN), [0, 0, 0]);
});

const trace: SelectivityTrace = {
  layer: 0,
  kind: 'delta',
  timeSteps: 4,
  channels: 2,
  samplesPerStep: 4000,
  // The value of step t, channel c is 10 * t + c.
  data: new Float32Array([0, 1, 10, 11, 20, 21, 30, 31]),
};

test('valueRange ignores non-finite values', () => {
  assert.deepEqual(valueRange(new Float32Array([3, Number.NaN, -1, Infinity])), [-1, 3]);
  assert.deepEqual(valueRange(new Float32Array(0)), [0, 1]);
});

test('cellAt maps pixels to steps and channels', () => {
  // 4 steps of 0.25 s at 16 kHz, shown over a 100 px wide, 20 px high canvas.
  const window = { startSec: 0, endSec: 1 };
  assert.deepEqual(cellAt(trace, 16000, window, 100, 20, 60, 15), { timeStep: 2, channel: 1, timeSec: 0.6, value: 21 });
  assert.equal(cellAt(trace, 16000, window, 100, 20, 100, 5), null);
  assert.equal(cellAt(trace, 16000, { startSec: 2, endSec: 3 }, 100, 20, 10, 5), null);
});

test('renderHeatmap paints the window and leaves the rest transparent', () => {
  const pixels = renderHeatmap(trace, 16000, { startSec: 0.5, endSec: 1.5 }, 4, 2, [0, 31]);
  const alpha = (x: number, y: number): number => pixels[(y * 4 + x) * 4 + 3]!;
  assert.equal(alpha(0, 0), 255);
  assert.equal(alpha(1, 1), 255);
  assert.equal(alpha(2, 0), 0);
  assert.equal(alpha(3, 1), 0);
  // Column 0 shows step 2 (value 20 at channel 0), column 1 step 3 (value 30).
  const red = (x: number, y: number): number => pixels[(y * 4 + x) * 4]!;
  assert.deepEqual([red(0, 0), red(1, 0)], [colorFor(20 / 31)[0], colorFor(30 / 31)[0]]);
});

test('sliceByRegion copies the region', () => {
  const codes = Uint8Array.from({ length: 100 }, (_, i) => i);
  const slice = sliceByRegion(codes, 10, { startSec: 2, endSec: 3.5 });
  assert.deepEqual([...slice], [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
  const whole = sliceByRegion(codes, 10, null);
  assert.notEqual(whole.buffer, codes.buffer);
  assert.equal(whole.length, 100);
  assert.equal(sliceByRegion(codes, 10, { startSec: 9, endSec: 20 }).length, 10);
});

test('splitForTraining holds out the end', () => {
  const codes = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
  const split = splitForTraining(codes, 0.2, 100);
  assert.ok(split.ok);
  assert.equal(split.trainCodes.length, 800);
  assert.equal(split.validationCodes.length, 200);
  assert.equal(split.validationCodes[0], 800 % 256);
});

test('splitForTraining rejects spans too short for a window', () => {
  const codes = new Uint8Array(1000);
  const noTrain = splitForTraining(codes, 0.1, 1000);
  assert.equal(noTrain.ok, false);
  assert.match(noTrain.ok ? '' : noTrain.message, /training span has 900 samples/);
  const noValidation = splitForTraining(codes, 0.05, 100);
  assert.equal(noValidation.ok, false);
  assert.match(noValidation.ok ? '' : noValidation.message, /validation part has 50 samples/);
  assert.ok(splitForTraining(codes, 0, 100).ok);
  assert.ok(!splitForTraining(codes, 1, 100).ok);
});

test('appendLossPoint thins old points and keeps validation points', () => {
  let history: ReturnType<typeof appendLossPoint> = [];
  for (let step = 0; step < 21; step++) history = appendLossPoint(history, { step, loss: 1, valLoss: step === 3 ? 2 : undefined }, 20);
  assert.ok(history.length <= 20);
  assert.equal(history.at(-1)!.step, 20);
  assert.ok(history.some((point) => point.valLoss === 2));
  assert.deepEqual(history.map((point) => point.step), [...history.map((point) => point.step)].sort((a, b) => a - b));
});

test('checkpointId is a safe storage key', () => {
  assert.match(checkpointId(1200, 1_700_000_000_000), /^ckpt-[a-z0-9]+-1200$/);
});
