import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { FftFilter } from '../../audio/fft-filter';
import { designLowpass } from '../../audio/kaiser';
import { readAudioFile } from '../../audio/node-file';
import { planResampler, resample, resampledFrameCount } from '../../audio/resample';
import { decibels, runSox, sharedAudioDir, sineWave, SKIP_WITHOUT_SOX, snrDb, toneAmplitude } from './helpers';

const AMPLITUDE = 0.5;

/** Resamples a 0.5 s tone and returns the level in dB (relative to the input tone) at measureHz. */
function toneLevelDb(inputRateHz: number, outputRateHz: number, toneHz: number, measureHz = toneHz): number {
  const input = sineWave(toneHz, inputRateHz, Math.round(inputRateHz / 2), AMPLITUDE);
  const output = resample(input, inputRateHz, outputRateHz);
  // Skip the edges, where the zero padding outside the clip fades the tone in and out.
  const edge = Math.round(outputRateHz * 0.02);
  return decibels(toneAmplitude(output, measureHz, outputRateHz, edge, output.length - edge) / AMPLITUDE);
}

/** Frequency at which a tone at toneHz appears after sampling at sampleRateHz. */
function aliasOf(toneHz: number, sampleRateHz: number): number {
  const folded = toneHz % sampleRateHz;
  return folded > sampleRateHz / 2 ? sampleRateHz - folded : folded;
}

describe('resample frequency response', () => {
  test('12 kHz alias from 48 kHz', (t) => {
    const aliasDb = toneLevelDb(48000, 16000, 12000, 4000);
    t.diagnostic(`12 kHz tone, 48 kHz -> 16 kHz: alias at 4 kHz is ${aliasDb.toFixed(1)} dB`);
    assert.ok(aliasDb < -60, `alias at ${aliasDb.toFixed(1)} dB`);
  });

  for (const inputRateHz of [48000, 44100, 22050]) {
    test(`aliases from ${inputRateHz} Hz`, (t) => {
      let worstDb = -Infinity;
      let worstHz = 0;
      // Every tone from just above the output Nyquist frequency to the input's.
      for (let toneHz = 8100; toneHz < inputRateHz / 2 - 100; toneHz += 700) {
        const aliasHz = aliasOf(toneHz, 16000);
        if (aliasHz < 50) continue;
        const levelDb = toneLevelDb(inputRateHz, 16000, toneHz, aliasHz);
        if (levelDb > worstDb) [worstDb, worstHz] = [levelDb, toneHz];
      }
      t.diagnostic(`worst alias ${worstDb.toFixed(1)} dB, from a ${worstHz} Hz tone`);
      assert.ok(worstDb < -60, `tone ${worstHz} Hz aliases at ${worstDb.toFixed(1)} dB`);
    });
  }

  for (const inputRateHz of [48000, 44100, 22050]) {
    test(`passband ripple from ${inputRateHz} Hz`, (t) => {
      let worstDb = 0;
      let worstHz = 0;
      for (let toneHz = 100; toneHz <= 7000; toneHz += 100) {
        const gainDb = toneLevelDb(inputRateHz, 16000, toneHz);
        if (Math.abs(gainDb) > Math.abs(worstDb)) [worstDb, worstHz] = [gainDb, toneHz];
      }
      t.diagnostic(`worst passband gain ${worstDb.toFixed(4)} dB at ${worstHz} Hz`);
      assert.ok(Math.abs(worstDb) <= 0.1, `gain ${worstDb.toFixed(4)} dB at ${worstHz} Hz`);
    });
  }

  test('upsampling rejects images', (t) => {
    // 8 kHz -> 16 kHz: a 3 kHz tone has its first image at 5 kHz.
    const gainDb = toneLevelDb(8000, 16000, 3000);
    const imageDb = toneLevelDb(8000, 16000, 3000, 5000);
    t.diagnostic(`gain ${gainDb.toFixed(4)} dB, image ${imageDb.toFixed(1)} dB`);
    assert.ok(Math.abs(gainDb) <= 0.1, `gain ${gainDb} dB`);
    assert.ok(imageDb < -60, `image at ${imageDb} dB`);
  });

  test('interpolated phase table', (t) => {
    // 44101 / 8000 does not reduce, so the exact table would need 44101 phases.
    const plan = planResampler(8000, 44101);
    assert.equal(plan.kernel.exactPhases, false);
    const gainDb = toneLevelDb(8000, 44101, 1000);
    const imageDb = toneLevelDb(8000, 44101, 1000, 7000);
    t.diagnostic(`gain ${gainDb.toFixed(4)} dB, image ${imageDb.toFixed(1)} dB`);
    assert.ok(Math.abs(gainDb) <= 0.1, `gain ${gainDb} dB`);
    assert.ok(imageDb < -60, `image at ${imageDb} dB`);
  });

  test('rate pair without common factor', () => {
    const gainDb = toneLevelDb(44100, 16001, 5000);
    const aliasDb = toneLevelDb(44100, 16001, 12000, aliasOf(12000, 16001));
    assert.ok(Math.abs(gainDb) <= 0.1, `gain ${gainDb} dB`);
    assert.ok(aliasDb < -60, `alias at ${aliasDb} dB`);
  });
});

describe('resample time domain', () => {
  test('output length rounds the duration', () => {
    assert.equal(resampledFrameCount(68545, 48000, 16000), 22848);
    assert.equal(resampledFrameCount(44100, 44100, 16000), 16000);
    assert.equal(resample(new Float32Array(441), 44100, 16000).length, 160);
    assert.equal(resample(new Float32Array(3), 8000, 16000).length, 6);
    assert.equal(resample(new Float32Array(0), 48000, 16000).length, 0);
  });

  test('constant input keeps its level', () => {
    for (const [inputRateHz, outputRateHz] of [[48000, 16000], [44100, 16000], [8000, 16000], [16000, 22050]]) {
      const output = resample(new Float32Array(inputRateHz).fill(0.5), inputRateHz, outputRateHz);
      const middle = output.subarray(outputRateHz / 10, output.length - outputRateHz / 10);
      for (const value of middle) assert.ok(Math.abs(value - 0.5) < 1e-5, `${inputRateHz} -> ${outputRateHz}: got ${value}`);
    }
  });

  test('impulse stays in place', () => {
    // No delay: an impulse at input frame 3000 peaks at output frame 1000.
    const input = new Float32Array(6000);
    input[3000] = 1;
    const output = resample(input, 48000, 16000);
    let peakIndex = 0;
    for (let i = 1; i < output.length; i++) if (output[i] > output[peakIndex]) peakIndex = i;
    assert.equal(peakIndex, 1000);
    for (let offset = 1; offset < 20; offset++) {
      assert.ok(Math.abs(output[1000 - offset] - output[1000 + offset]) < 1e-6, `asymmetric at offset ${offset}`);
    }
  });

  test('equal rates return a copy', () => {
    const input = Float32Array.from([0.1, -0.2, 0.3]);
    const output = resample(input, 16000, 16000);
    assert.deepEqual(output, input);
    assert.notEqual(output, input);
  });

  test('plans choose one or two stages', () => {
    assert.notEqual(planResampler(44100, 16000).prefilter, null);
    assert.notEqual(planResampler(48000, 16000).prefilter, null);
    assert.equal(planResampler(8000, 16000).prefilter, null);
    assert.equal(planResampler(17000, 16000).prefilter, null);
  });

  test('invalid rates and options throw', () => {
    assert.throws(() => resample(new Float32Array(4), 0, 16000), RangeError);
    assert.throws(() => resample(new Float32Array(4), 44100.5, 16000), RangeError);
    assert.throws(() => resample(new Float32Array(4), 44100, -1), RangeError);
    assert.throws(() => resample(new Float32Array(4), 44100, 16000, { passbandFraction: 1 }), RangeError);
    assert.throws(() => resample(new Float32Array(4), 44100, 16000, { stopbandAttenuationDb: 10 }), RangeError);
  });

  test('matches sox on speech', { skip: SKIP_WITHOUT_SOX }, async (t) => {
    const path = join(sharedAudioDir(), 'nasty', '00_source_Front_Center_s16_48k_mono.wav');
    const decoded = await readAudioFile(path);
    const ours = resample(decoded.channelData[0], 48000, 16000);
    const raw = runSox([path, '-t', 'f32', '-', 'rate', '-v', '16000']);
    const sox = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    assert.equal(ours.length, sox.length);
    // The two filters differ above 7.2 kHz, so compare below 6 kHz, where both are flat:
    // there the outputs agree only if they are aligned to the sample and equally clean.
    const lowpass = new FftFilter(designLowpass(16000, 6000, 7000, 100));
    const fullBandSnr = snrDb(sox, ours);
    const lowBandSnr = snrDb(lowpass.apply(sox), lowpass.apply(ours));
    t.diagnostic(`ours against sox: ${fullBandSnr.toFixed(1)} dB SNR full band, ${lowBandSnr.toFixed(1)} dB below 6 kHz`);
    assert.ok(lowBandSnr > 70, `SNR below 6 kHz ${lowBandSnr.toFixed(1)} dB`);
  });

  test('60 s at 44.1 kHz in seconds', () => {
    // A coarse guard against a slow path, far above the measured time.
    const input = sineWave(440, 44100, 44100 * 60, 0.5);
    const started = performance.now();
    resample(input, 44100, 16000);
    const elapsedSec = (performance.now() - started) / 1000;
    assert.ok(elapsedSec < 10, `took ${elapsedSec.toFixed(2)} s`);
  });
});
