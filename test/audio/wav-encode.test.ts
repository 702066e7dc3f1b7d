import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { decodeWav } from '../../audio/wav-decode';
import { encodeWav, floatToPcm16 } from '../../audio/wav-encode';
import { SKIP_WITHOUT_SOX, soxDecodeFloat, soxInfo } from './helpers';

function dataOf(bytes: Uint8Array): DataView {
  // The data chunk follows a 44-byte header for PCM and a 58-byte one for mono/stereo float.
  const headerByteLength = new DataView(bytes.buffer).getUint16(20, true) === 1 ? 44 : 58;
  return new DataView(bytes.buffer, headerByteLength);
}

describe('encodeWav 16-bit PCM', () => {
  test('clamps without wrapping', () => {
    const { bytes, clippedSampleCount } = encodeWav([Float32Array.from([-1.5, -1, 0, 1, 1.5])], 16000, 'pcm16');
    const data = dataOf(bytes);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => data.getInt16(2 * i, true)), [-32768, -32768, 0, 32767, 32767]);
    assert.equal(clippedSampleCount, 2);
  });

  test('scaling rule', () => {
    assert.equal(floatToPcm16(0.5), 16384);
    assert.equal(floatToPcm16(-0.5), -16384);
    assert.equal(floatToPcm16(1 / 32768), 1);
    assert.equal(floatToPcm16(32767 / 32768), 32767);
    assert.equal(floatToPcm16(-1e9), -32768);
    assert.equal(floatToPcm16(1e9), 32767);
  });

  test('16-bit samples survive a round trip', () => {
    const values = [-32768, -12345, -1, 0, 1, 255, 32767];
    const samples = Float32Array.from(values, (v) => v / 32768);
    const decoded = decodeWav(encodeWav([samples], 8000, 'pcm16').bytes, 'out.wav');
    assert.deepEqual(Array.from(decoded.channelData[0], (x) => Math.round(x * 32768)), values);
  });

  test('NaN and infinity', () => {
    const { bytes, nonFiniteSampleCount } = encodeWav([Float32Array.from([Number.NaN, Infinity, -Infinity])], 8000, 'pcm16');
    const data = dataOf(bytes);
    assert.deepEqual([0, 1, 2].map((i) => data.getInt16(2 * i, true)), [0, 32767, -32768]);
    assert.equal(nonFiniteSampleCount, 3);
  });

  test('header fields', () => {
    const { bytes } = encodeWav([new Float32Array(10), new Float32Array(10)], 44100, 'pcm16');
    const view = new DataView(bytes.buffer);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'RIFF');
    assert.equal(view.getUint32(4, true), bytes.length - 8);
    assert.equal(view.getUint16(20, true), 1);
    assert.equal(view.getUint16(22, true), 2);
    assert.equal(view.getUint32(24, true), 44100);
    assert.equal(view.getUint32(28, true), 44100 * 4);
    assert.equal(view.getUint16(32, true), 4);
    assert.equal(view.getUint16(34, true), 16);
    assert.equal(view.getUint32(40, true), 40);
    assert.equal(bytes.length, 44 + 40);
  });
});

describe('encodeWav 32-bit float', () => {
  test('keeps values beyond full scale', () => {
    const samples = Float32Array.from([-1.5, -1, 0, 0.1, 1, 1.5]);
    const result = encodeWav([samples], 16000, 'float32');
    assert.equal(result.clippedSampleCount, 0);
    const decoded = decodeWav(result.bytes, 'out.wav');
    assert.equal(decoded.info.codec, 'float32');
    assert.deepEqual(decoded.channelData[0], samples);
    assert.deepEqual(decoded.warnings, []);
  });

  test('extensible for more than two channels', () => {
    const channels = [0, 1, 2, 3, 4, 5].map((c) => Float32Array.from([c / 10, -c / 10]));
    const bytes = encodeWav(channels, 48000, 'float32').bytes;
    assert.equal(new DataView(bytes.buffer).getUint16(20, true), 0xfffe);
    const decoded = decodeWav(bytes, 'out.wav');
    assert.equal(decoded.info.channelCount, 6);
    channels.forEach((channel, c) => assert.deepEqual(decoded.channelData[c], channel));
  });

  test('invalid input throws', () => {
    assert.throws(() => encodeWav([], 16000, 'pcm16'), RangeError);
    assert.throws(() => encodeWav([new Float32Array(2), new Float32Array(3)], 16000, 'pcm16'), RangeError);
    assert.throws(() => encodeWav([new Float32Array(2)], 0, 'pcm16'), RangeError);
    assert.throws(() => encodeWav([new Float32Array(2)], 22050.5, 'float32'), RangeError);
  });
});

describe('encodeWav files open in sox', { skip: SKIP_WITHOUT_SOX }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mamba-audio-encode-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases = [
    { format: 'pcm16', channelCount: 1, sampleRateHz: 16000 },
    { format: 'pcm16', channelCount: 2, sampleRateHz: 44100 },
    { format: 'float32', channelCount: 1, sampleRateHz: 22050 },
    { format: 'float32', channelCount: 2, sampleRateHz: 48000 },
    { format: 'pcm16', channelCount: 4, sampleRateHz: 8000 },
  ] as const;

  for (const { format, channelCount, sampleRateHz } of cases) {
    test(`${format}, ${channelCount} channels, ${sampleRateHz} Hz`, () => {
      const frameCount = 1001;
      const channels = Array.from({ length: channelCount }, (_, c) =>
        Float32Array.from({ length: frameCount }, (_, i) => 0.9 * Math.sin(0.01 * (i + 1) * (c + 1))),
      );
      const path = join(dir, `${format}-${channelCount}-${sampleRateHz}.wav`);
      writeFileSync(path, encodeWav(channels, sampleRateHz, format).bytes);

      assert.deepEqual(soxInfo(path), { sampleRateHz, channelCount, frameCount });
      const reference = soxDecodeFloat(path);
      assert.equal(reference.length, frameCount * channelCount);
      // sox passes float samples through its 32-bit integer pipeline, which costs ~3e-8.
      const tolerance = format === 'pcm16' ? 1 / 32768 : 1e-6;
      for (let i = 0; i < frameCount; i += 37) {
        for (let c = 0; c < channelCount; c++) {
          const difference = Math.abs(reference[i * channelCount + c] - channels[c][i]);
          assert.ok(difference <= tolerance, `frame ${i} channel ${c}: sox ${reference[i * channelCount + c]}, ours ${channels[c][i]}`);
        }
      }
    });
  }
});
