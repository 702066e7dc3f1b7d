import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { downmixToMono, selectChannel } from '../../audio/downmix';
import { computePeaks } from '../../audio/peaks';
import { sineWave } from './helpers';

describe('downmixToMono', () => {
  test('averages the channels', () => {
    const result = downmixToMono([Float32Array.from([1, 0.5, -1]), Float32Array.from([0, 0.5, 1]), Float32Array.from([-1, 0.5, 0.5])]);
    assert.deepEqual(Array.from(result.samples), [0, 0.5, 1 / 6].map(Math.fround));
    assert.deepEqual(result.warnings, []);
  });

  test('mono input is copied', () => {
    const channel = Float32Array.from([0.25, -0.25]);
    const result = downmixToMono([channel]);
    assert.deepEqual(result.samples, channel);
    assert.notEqual(result.samples, channel);
  });

  test('warns when left is minus right', () => {
    const left = sineWave(440, 16000, 16000, 0.5);
    const right = left.map((x, i) => -x + 0.001 * Math.sin(i * 0.37));
    const result = downmixToMono([left, right]);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0], /channels cancel when mixed to mono: the mix is \d+\.\d dB quieter/);
  });

  test('no warning for unrelated channels', () => {
    const left = sineWave(440, 16000, 16000, 0.5);
    const right = sineWave(623, 16000, 16000, 0.5);
    assert.deepEqual(downmixToMono([left, right]).warnings, []);
  });

  test('no warning for silence', () => {
    assert.deepEqual(downmixToMono([new Float32Array(100), new Float32Array(100)]).warnings, []);
  });

  test('no warning for partial correlation', () => {
    // Correlation -0.8 drops the mix by 10 dB, below the 12 dB threshold for stereo.
    const left = sineWave(440, 16000, 16000, 0.5);
    const other = sineWave(1234, 16000, 16000, 0.5);
    const right = left.map((x, i) => -0.8 * x + 0.6 * other[i]);
    assert.deepEqual(downmixToMono([left, right]).warnings, []);
  });

  test('rejects unequal channels', () => {
    assert.throws(() => downmixToMono([new Float32Array(3), new Float32Array(4)]), RangeError);
    assert.throws(() => downmixToMono([]), RangeError);
  });

  test('selectChannel copies one channel', () => {
    const channels = [Float32Array.from([1, 2]), Float32Array.from([3, 4])];
    assert.deepEqual(Array.from(selectChannel(channels, 1)), [3, 4]);
    assert.throws(() => selectChannel(channels, 2), RangeError);
    assert.throws(() => selectChannel(channels, -1), RangeError);
  });
});

describe('computePeaks', () => {
  test('min and max per bucket', () => {
    const samples = Float32Array.from([0, 0.5, -0.25, 1, -1, 0.75, 0.1, -0.1, 0.2, 0.3]);
    const peaks = computePeaks(samples, 3);
    // Buckets: [0, 3), [3, 6), [6, 10)
    assert.deepEqual(Array.from(peaks.min), [-0.25, -1, -0.1].map(Math.fround));
    assert.deepEqual(Array.from(peaks.max), [0.5, 1, 0.3].map(Math.fround));
    assert.equal(peaks.framesPerBucket, 10 / 3);
  });

  test('frame range selects a window', () => {
    const samples = Float32Array.from([9, 1, 2, 3, 4, -9]);
    const peaks = computePeaks(samples, 2, 1, 5);
    assert.deepEqual(Array.from(peaks.min), [1, 3]);
    assert.deepEqual(Array.from(peaks.max), [2, 4]);
  });

  test('more buckets than frames', () => {
    const peaks = computePeaks(Float32Array.from([0.5, -0.5]), 4);
    assert.deepEqual(Array.from(peaks.min), [0.5, 0.5, -0.5, -0.5]);
    assert.deepEqual(Array.from(peaks.max), [0.5, 0.5, -0.5, -0.5]);
  });

  test('empty range gives zeros', () => {
    const peaks = computePeaks(new Float32Array(10), 3, 4, 4);
    assert.deepEqual(Array.from(peaks.max), [0, 0, 0]);
    assert.equal(peaks.framesPerBucket, 0);
  });

  test('invalid arguments throw', () => {
    const samples = new Float32Array(10);
    assert.throws(() => computePeaks(samples, 0), RangeError);
    assert.throws(() => computePeaks(samples, 1.5), RangeError);
    assert.throws(() => computePeaks(samples, 4, 5, 11), RangeError);
    assert.throws(() => computePeaks(samples, 4, 6, 5), RangeError);
  });

  test('one hour at 16 kHz', (t) => {
    const samples = new Float32Array(16000 * 3600);
    for (let i = 0; i < samples.length; i += 997) samples[i] = Math.sin(i);
    samples[samples.length - 1] = -1;
    const started = performance.now();
    const peaks = computePeaks(samples, 4000);
    const elapsedMs = performance.now() - started;
    t.diagnostic(`57.6 M samples into 4000 buckets in ${elapsedMs.toFixed(0)} ms`);
    assert.equal(peaks.min[3999], -1);
    // A coarse bound: a view redraws peaks on zoom, so they must take well under a second.
    assert.ok(elapsedMs < 1500, `took ${elapsedMs.toFixed(0)} ms`);
  });
});
