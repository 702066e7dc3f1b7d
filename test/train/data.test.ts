// Training data: splits, windows, validation batches and the unigram baseline.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { splitClips, unigramEntropyBits, validationBatches, WindowSampler, DataError, type CodeClip } from '../../gpu/train/data';
import { learningRate } from '../../gpu/train/schedule';

const ramp = (name: string, length: number): CodeClip => ({ name, codes: Uint8Array.from({ length }, (_, i) => i % 256) });

test('split holds out a named clip', () => {
  const split = splitClips([ramp('a', 500), ramp('b', 400)], { heldOutClip: 'b', windowSamples: 64 });
  assert.deepEqual(split.train.map((c) => c.name), ['a']);
  assert.deepEqual(split.heldOut.map((c) => c.name), ['b']);
});

test('split holds out the tail of each clip', () => {
  const split = splitClips([ramp('a', 1000)], { heldOutFraction: 0.2, windowSamples: 64 });
  assert.equal(split.train[0].codes.length, 800);
  assert.equal(split.heldOut[0].codes.length, 200);
  assert.equal(split.heldOut[0].codes[0], 800 % 256);
});

test('split rejects audio shorter than a window', () => {
  assert.throws(() => splitClips([ramp('a', 100)], { heldOutFraction: 0.5, windowSamples: 64 }), (error: Error) => {
    assert.ok(error instanceof DataError);
    assert.match(error.message, /training audio is too short: windows need 65 samples/);
    return true;
  });
  assert.throws(() => splitClips([ramp('a', 1000)], { heldOutClip: 'missing', windowSamples: 64 }), /"missing" is not among the clips \(a\)/);
});

test('windows are contiguous and targets are shifted by one', () => {
  const sampler = new WindowSampler([ramp('a', 3000)], 32, 1);
  const { inputs, targets } = sampler.batch(4);
  for (let b = 0; b < 4; b++) {
    for (let t = 0; t < 32; t++) {
      assert.equal(targets[t * 4 + b], (inputs[t * 4 + b] + 1) % 256);
      if (t > 0) assert.equal(inputs[t * 4 + b], targets[(t - 1) * 4 + b]);
    }
  }
});

test('validation batches are the same every call', () => {
  const clips = [ramp('a', 5000)];
  const first = validationBatches(clips, 64, 2, 10);
  const second = validationBatches(clips, 64, 2, 10);
  assert.equal(first.length, 5);
  assert.deepEqual(first, second);
});

test('unigram entropy of uniform and constant codes', () => {
  assert.ok(Math.abs(unigramEntropyBits([ramp('a', 256 * 4)], 256) - 8) < 1e-12);
  assert.equal(unigramEntropyBits([{ name: 'c', codes: new Uint8Array(100).fill(128) }], 256), 0);
});

test('learning rate warms up then decays to the minimum', () => {
  const schedule = { peakLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  assert.ok(Math.abs(learningRate(schedule, 0) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(schedule, 9) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(schedule, 60) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(schedule, 110) - 1e-4) < 1e-12);
});
