import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Fft, FftFilter } from '../../audio/fft-filter';
import { designLowpass } from '../../audio/kaiser';
import { decibels } from './helpers';

/** Deterministic pseudo-random values in [-1, 1). */
function noise(length: number, seed: number): Float32Array {
  const values = new Float32Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    values[i] = state / 1073741824 - 1;
  }
  return values;
}

/** Magnitude of the filter's frequency response at frequency (cycles per sample). */
function responseAt(taps: Float64Array, frequency: number): number {
  let re = 0;
  let im = 0;
  for (let k = 0; k < taps.length; k++) {
    re += taps[k] * Math.cos(2 * Math.PI * frequency * k);
    im -= taps[k] * Math.sin(2 * Math.PI * frequency * k);
  }
  return Math.hypot(re, im);
}

describe('Fft', () => {
  test('inverse undoes forward', () => {
    const fft = new Fft(4096);
    const re = Float64Array.from(noise(4096, 1));
    const im = Float64Array.from(noise(4096, 2));
    const [re0, im0] = [re.slice(), im.slice()];
    fft.forward(re, im);
    fft.inverse(re, im);
    for (let i = 0; i < 4096; i++) {
      assert.ok(Math.abs(re[i] / 4096 - re0[i]) < 1e-12, `re[${i}]`);
      assert.ok(Math.abs(im[i] / 4096 - im0[i]) < 1e-12, `im[${i}]`);
    }
  });

  test('spectrum of a tone', () => {
    // A complex exponential at bin 5 puts all its energy in one output. Where that output
    // lands depends on the digit-reversed order, so only the values are checked.
    const n = 64;
    const fft = new Fft(n);
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = Math.cos((2 * Math.PI * 5 * i) / n);
      im[i] = Math.sin((2 * Math.PI * 5 * i) / n);
    }
    fft.forward(re, im);
    const magnitudes = Array.from(re, (value, i) => Math.hypot(value, im[i])).sort((a, b) => b - a);
    assert.ok(Math.abs(magnitudes[0] - n) < 1e-9, `peak ${magnitudes[0]}`);
    assert.ok(magnitudes[1] < 1e-9, `second largest ${magnitudes[1]}`);
  });

  test('rejects sizes not a power of four', () => {
    assert.throws(() => new Fft(2048), RangeError);
    assert.throws(() => new Fft(100), RangeError);
  });
});

describe('FftFilter', () => {
  const taps = designLowpass(44100, 7200, 8000, 80);

  function directFilter(input: Float32Array): Float64Array {
    const half = (taps.length - 1) / 2;
    const output = new Float64Array(input.length);
    for (let n = 0; n < input.length; n++) {
      let sum = 0;
      for (let k = 0; k < taps.length; k++) {
        const m = n + half - k;
        if (m >= 0 && m < input.length) sum += taps[k] * input[m];
      }
      output[n] = sum;
    }
    return output;
  }

  for (const length of [1, 100, 3817, 3818, 7636, 20000]) {
    test(`equals direct convolution, ${length} samples`, () => {
      const input = noise(length, length);
      const fast = new FftFilter(taps).apply(input);
      const direct = directFilter(input);
      assert.equal(fast.length, length);
      for (let i = 0; i < length; i++) {
        if (Math.abs(fast[i] - direct[i]) > 1e-6) assert.fail(`sample ${i}: FFT ${fast[i]}, direct ${direct[i]}`);
      }
    });
  }

  test('rejects an even tap count', () => {
    assert.throws(() => new FftFilter(new Float64Array(4)), RangeError);
  });
});

describe('designLowpass', () => {
  test('meets its attenuation and ripple', (t) => {
    for (const attenuationDb of [60, 80, 100]) {
      const taps = designLowpass(48000, 7200, 8000, attenuationDb);
      assert.equal(taps.length % 2, 1);
      assert.ok(Math.abs(taps.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      for (let k = 0; k < taps.length; k++) assert.equal(taps[k], taps[taps.length - 1 - k]);

      let worstStopDb = -Infinity;
      for (let hz = 8000; hz <= 24000; hz += 25) worstStopDb = Math.max(worstStopDb, decibels(responseAt(taps, hz / 48000)));
      let worstPassDb = 0;
      for (let hz = 0; hz <= 7200; hz += 25) {
        const gainDb = decibels(responseAt(taps, hz / 48000));
        if (Math.abs(gainDb) > Math.abs(worstPassDb)) worstPassDb = gainDb;
      }
      t.diagnostic(`${attenuationDb} dB design: ${taps.length} taps, stopband ${worstStopDb.toFixed(1)} dB, passband ${worstPassDb.toFixed(5)} dB`);
      // Kaiser's formulas are estimates, so allow 1 dB short of the target.
      assert.ok(worstStopDb <= -attenuationDb + 1, `stopband ${worstStopDb} dB for a ${attenuationDb} dB design`);
      assert.ok(Math.abs(worstPassDb) < 0.01, `passband ${worstPassDb} dB`);
    }
  });
});
