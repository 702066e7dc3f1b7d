import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { AudioDecodeError } from '../../audio/errors';
import { muLawDecode, ZERO_CODE } from '../../audio/mulaw';
import { readAudioFile } from '../../audio/node-file';
import { prepareClip, prepareCodes, prepareSamples } from '../../audio/prepare';
import type { DecodedAudio } from '../../audio/types';
import { sharedAudioDir, sineWave, toneAmplitude } from './helpers';

function synthetic(channelData: Float32Array[], sampleRateHz: number): DecodedAudio {
  const frameCount = channelData[0].length;
  return {
    fileName: 'synthetic.wav',
    info: {
      container: 'wav',
      codec: 'float32',
      sampleRateHz,
      channelCount: channelData.length,
      frameCount,
      durationSec: frameCount / sampleRateHz,
      bitsPerSample: 32,
    },
    channelData,
    warnings: [],
  };
}

function peakOf(samples: Float32Array): number {
  return samples.reduce((peak, x) => Math.max(peak, Math.abs(x)), 0);
}

describe('prepareClip', () => {
  test('48 kHz speech to 16 kHz codes', async () => {
    const file = join(sharedAudioDir(), 'nasty', 'pcm24_48k_mono.wav');
    const clip = await prepareClip(readFileSync(file), 'pcm24_48k_mono.wav');
    assert.equal(clip.sampleRateHz, 16000);
    assert.equal(clip.codes.length, 22848);
    assert.equal(clip.samples.length, 22848);
    assert.equal(clip.quantization, 'mu-law');
    assert.equal(clip.source.sampleRateHz, 48000);
    assert.equal(peakOf(clip.samples), 1);
    assert.ok(clip.gain > 1, `gain ${clip.gain}`);
    assert.ok(clip.codes.includes(0) || clip.codes.includes(255), 'the peak reaches an end code');
    assert.deepEqual(clip.warnings, []);
  });

  test('stereo piano mixes and keeps pitch', async () => {
    const decoded = await readAudioFile(join(sharedAudioDir(), 'nasty', 'stereo_44k1_s16_piano_5s.wav'));
    const prepared = prepareSamples(decoded, { sampleRateHz: 16000 });
    assert.equal(prepared.samples.length, 80000);
    // The chord's partials keep their frequencies and their levels relative to each other.
    // Normalisation scales all of them alike, so compare each against the 440 Hz partial.
    const average = decoded.channelData[0].map((x, i) => (x + decoded.channelData[1][i]) / 2);
    const averageReference = toneAmplitude(average, 440, 44100);
    const preparedReference = toneAmplitude(prepared.samples, 440, 16000);
    for (const frequencyHz of [262, 392, 523]) {
      const averageRatio = toneAmplitude(average, frequencyHz, 44100) / averageReference;
      const preparedRatio = toneAmplitude(prepared.samples, frequencyHz, 16000) / preparedReference;
      assert.ok(averageRatio > 0.05, `${frequencyHz} Hz is in the clip`);
      assert.ok(Math.abs(preparedRatio / averageRatio - 1) < 0.002, `${frequencyHz} Hz: ${averageRatio} vs ${preparedRatio}`);
    }
  });

  test('decoder warnings are kept', async () => {
    const file = join(sharedAudioDir(), 'nasty', 'truncated_header_says_longer.wav');
    const clip = await prepareClip(readFileSync(file), 'truncated.wav');
    assert.equal(clip.codes.length, Math.round((41127 * 16000) / 48000));
    assert.match(clip.warnings.join('\n'), /shorter than its header declares/);
  });

  test('unusable file throws typed error', async () => {
    const file = join(sharedAudioDir(), 'nasty', 'zero_length_data.wav');
    await assert.rejects(prepareClip(readFileSync(file), 'zero.wav'), (error: unknown) => error instanceof AudioDecodeError && error.code === 'empty');
  });
});

describe('prepareSamples options', () => {
  test('normalisation off keeps the level', () => {
    const tone = sineWave(440, 16000, 16000, 0.25);
    const prepared = prepareSamples(synthetic([tone], 16000), { normalization: 'none' });
    assert.equal(prepared.gain, 1);
    assert.deepEqual(prepared.samples, tone);
  });

  test('target peak', () => {
    const prepared = prepareSamples(synthetic([sineWave(440, 16000, 16000, 0.25)], 16000), { targetPeak: 0.5 });
    assert.ok(Math.abs(peakOf(prepared.samples) - 0.5) < 1e-6);
    assert.ok(Math.abs(prepared.gain - 2) < 1e-3);
  });

  test('peak scaling keeps silence at code 128', () => {
    // An asymmetric clip: min-max scaling would move its zero away from code 128.
    const samples = new Float32Array(16000);
    for (let i = 0; i < 8000; i++) samples[i] = 0.6 * Math.max(0, Math.sin(i / 10)) - 0.1 * Math.max(0, -Math.sin(i / 10));
    const clip = prepareCodes(synthetic([samples], 16000));
    assert.equal(clip.codes[12000], ZERO_CODE);
    assert.ok(Math.abs(muLawDecode(clip.codes.subarray(12000, 12001))[0]) < 1e-4);
  });

  test('selects one channel', () => {
    const left = sineWave(440, 16000, 16000, 0.5);
    const right = new Float32Array(16000);
    const prepared = prepareSamples(synthetic([left, right], 16000), { channel: 0, normalization: 'none' });
    assert.deepEqual(prepared.samples, left);
    assert.throws(() => prepareSamples(synthetic([left, right], 16000), { channel: 2 }), RangeError);
  });

  test('cancelling channels warn', () => {
    const left = sineWave(440, 16000, 16000, 0.5);
    const right = left.map((x, i) => -x + 1e-3 * Math.sin(i));
    const prepared = prepareSamples(synthetic([left, right], 16000));
    assert.match(prepared.warnings.join('\n'), /channels cancel/);
  });

  test('too-short clip', () => {
    assert.throws(
      () => prepareSamples(synthetic([sineWave(440, 16000, 1600, 0.5)], 16000)),
      (error: unknown) =>
        error instanceof AudioDecodeError &&
        error.code === 'too-short' &&
        /synthetic\.wav: the clip lasts 0\.100 s, shorter than the 0\.25 s needed for training/.test(error.message),
    );
    assert.doesNotThrow(() => prepareSamples(synthetic([sineWave(440, 16000, 1600, 0.5)], 16000), { minDurationSec: 0.1 }));
  });

  test('silent clip', () => {
    assert.throws(
      () => prepareSamples(synthetic([new Float32Array(16000)], 16000)),
      (error: unknown) => error instanceof AudioDecodeError && error.code === 'silent',
    );
  });

  test('quiet clip warns', () => {
    const prepared = prepareSamples(synthetic([sineWave(440, 16000, 16000, 1e-4)], 16000));
    assert.match(prepared.warnings.join('\n'), /very quiet \(peak -80\.0 dBFS\)/);
  });

  test('over full scale warns without normalisation', () => {
    const prepared = prepareSamples(synthetic([sineWave(440, 16000, 16000, 1.5)], 16000), { normalization: 'none' });
    assert.match(prepared.warnings.join('\n'), /above full scale/);
  });

  test('linear quantisation', () => {
    const clip = prepareCodes(synthetic([sineWave(440, 16000, 16000, 0.5)], 16000), { quantization: 'linear' });
    assert.equal(clip.quantization, 'linear');
    assert.equal(Math.max(...clip.codes), 255);
    assert.equal(Math.min(...clip.codes), 0);
  });

  test('invalid options throw', () => {
    const decoded = synthetic([sineWave(440, 16000, 16000, 0.5)], 16000);
    assert.throws(() => prepareSamples(decoded, { sampleRateHz: 0 }), RangeError);
    assert.throws(() => prepareSamples(decoded, { targetPeak: 1.5 }), RangeError);
    assert.throws(() => prepareSamples(decoded, { minDurationSec: -1 }), RangeError);
  });
});
