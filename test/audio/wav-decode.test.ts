import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AudioDecodeError } from '../../audio/errors';
import { decodeWav } from '../../audio/wav-decode';
import { chunk, floatBytes, fmtChunk, pcmBytes, riffWave } from './helpers';

const PCM = 1;
const FLOAT = 3;

function pcm16Mono(samples: number[], extra: { before?: ReturnType<typeof chunk>[]; after?: ReturnType<typeof chunk>[] } = {}): Uint8Array {
  return riffWave([
    fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
    ...(extra.before ?? []),
    chunk('data', pcmBytes(samples, 2)),
    ...(extra.after ?? []),
  ]);
}

function assertDecodeError(run: () => unknown, code: string, reasonPattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AudioDecodeError, `expected AudioDecodeError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.reason, reasonPattern);
    assert.match(error.message, /^clip\.wav: /);
    return true;
  });
}

describe('decodeWav sample formats', () => {
  test('unsigned 8-bit', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 8 }),
      chunk('data', [0, 64, 128, 192, 255]),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.codec, 'pcm-u8');
    assert.deepEqual(Array.from(decoded.channelData[0]), [-1, -0.5, 0, 0.5, 127 / 128]);
  });

  test('signed 16-bit stereo deinterleaves', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 2, sampleRateHz: 44100, bitsPerSample: 16 }),
      chunk('data', pcmBytes([-32768, 32767, 16384, -16384, 0, 1], 2)),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.channelCount, 2);
    assert.equal(decoded.info.frameCount, 3);
    assert.equal(decoded.info.sampleRateHz, 44100);
    assert.deepEqual(Array.from(decoded.channelData[0]), [-1, 0.5, 0]);
    assert.deepEqual(Array.from(decoded.channelData[1]), [32767 / 32768, -0.5, Math.fround(1 / 32768)]);
  });

  test('signed 24-bit with pad byte', () => {
    // Three mono samples make a 9-byte data chunk, followed by a pad byte and a LIST chunk.
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 48000, bitsPerSample: 24 }),
      chunk('data', pcmBytes([-8388608, 4194304, 8388607], 3)),
      chunk('LIST', [0x49, 0x4e, 0x46, 0x4f]),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.codec, 'pcm-s24');
    assert.equal(decoded.info.bitsPerSample, 24);
    assert.deepEqual(Array.from(decoded.channelData[0]), [-1, 0.5, Math.fround(8388607 / 8388608)]);
    assert.deepEqual(decoded.warnings, []);
  });

  test('signed 32-bit', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 32 }),
      chunk('data', pcmBytes([-2147483648, 1073741824, -1], 4)),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.codec, 'pcm-s32');
    assert.deepEqual(Array.from(decoded.channelData[0]), [-1, 0.5, Math.fround(-1 / 2147483648)]);
  });

  test('IEEE float 32 and 64', () => {
    for (const bits of [32, 64] as const) {
      const bytes = riffWave([
        fmtChunk({ formatTag: FLOAT, channelCount: 1, sampleRateHz: 8000, bitsPerSample: bits }),
        chunk('fact', [3, 0, 0, 0]),
        chunk('data', floatBytes([0.25, -1.5, 0.1], bits / 8 as 4 | 8)),
      ]);
      const decoded = decodeWav(bytes, 'clip.wav');
      assert.equal(decoded.info.codec, bits === 32 ? 'float32' : 'float64');
      assert.deepEqual(Array.from(decoded.channelData[0]), [0.25, -1.5, Math.fround(0.1)]);
    }
  });

  test('float NaN and infinity become 0', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: FLOAT, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 32 }),
      chunk('data', floatBytes([0.5, Number.NaN, Number.POSITIVE_INFINITY], 4)),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.deepEqual(Array.from(decoded.channelData[0]), [0.5, 0, 0]);
    assert.match(decoded.warnings.join('\n'), /Replaced 2 NaN or infinite/);
  });

  test('WAVE_FORMAT_EXTENSIBLE PCM and float', () => {
    const pcm = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 2, sampleRateHz: 96000, bitsPerSample: 24, extensibleSubformat: PCM, validBits: 20 }),
      chunk('data', pcmBytes([4194304, -4194304], 3)),
    ]);
    const decodedPcm = decodeWav(pcm, 'clip.wav');
    assert.equal(decodedPcm.info.codec, 'pcm-s24');
    assert.equal(decodedPcm.info.bitsPerSample, 20);
    assert.deepEqual(Array.from(decodedPcm.channelData[0]), [0.5]);
    assert.deepEqual(Array.from(decodedPcm.channelData[1]), [-0.5]);

    const float = riffWave([
      fmtChunk({ formatTag: FLOAT, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 32, extensibleSubformat: FLOAT }),
      chunk('data', floatBytes([-0.75], 4)),
    ]);
    assert.deepEqual(Array.from(decodeWav(float, 'clip.wav').channelData[0]), [-0.75]);
  });
});

describe('decodeWav chunk layout', () => {
  test('unknown chunks before and after data', () => {
    const bytes = pcm16Mono([100, -100], {
      before: [chunk('LIST', new Uint8Array(27)), chunk('junk', new Uint8Array(8)), chunk('cue ', new Uint8Array(4))],
      after: [chunk('id3 ', new Uint8Array(11)), chunk('LIST', new Uint8Array(6))],
    });
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.deepEqual(Array.from(decoded.channelData[0]), [100 / 32768, -100 / 32768]);
    assert.deepEqual(decoded.warnings, []);
  });

  test('fmt chunk after data chunk', () => {
    const bytes = riffWave([
      chunk('data', pcmBytes([16384], 2)),
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
    ]);
    assert.deepEqual(Array.from(decodeWav(bytes, 'clip.wav').channelData[0]), [0.5]);
  });

  test('odd chunk without pad byte', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
      { id: 'note', payload: new Uint8Array(5), omitPad: true },
      chunk('data', pcmBytes([16384], 2)),
    ]);
    assert.deepEqual(Array.from(decodeWav(bytes, 'clip.wav').channelData[0]), [0.5]);
  });

  test('RIFF size 0 or 0xFFFFFFFF', () => {
    for (const riffSize of [0, 0xffffffff]) {
      const bytes = riffWave(
        [fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }), chunk('data', pcmBytes([1, 2, 3], 2))],
        { riffSize },
      );
      const decoded = decodeWav(bytes, 'clip.wav');
      assert.equal(decoded.info.frameCount, 3, `RIFF size ${riffSize}`);
      assert.deepEqual(decoded.warnings, []);
    }
  });

  test('streaming data size placeholders', () => {
    for (const declaredSize of [0, 0xffffffff]) {
      const bytes = riffWave(
        [
          fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
          chunk('data', pcmBytes([1000, -1000, 2000, -2000], 2), declaredSize),
        ],
        { riffSize: declaredSize },
      );
      const decoded = decodeWav(bytes, 'clip.wav');
      assert.equal(decoded.info.frameCount, 4, `data size ${declaredSize}`);
      assert.equal(decoded.channelData[0][3], -2000 / 32768);
      assert.match(decoded.warnings.join('\n'), /placeholder/);
    }
  });

  test('RF64 takes the data size from ds64', () => {
    const ds64 = new Uint8Array(28);
    new DataView(ds64.buffer).setUint32(8, 4, true); // data size: 2 frames of 16-bit mono
    const bytes = riffWave(
      [
        chunk('ds64', ds64),
        fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
        chunk('data', pcmBytes([300, -300], 2), 0xffffffff),
        chunk('LIST', new Uint8Array(4)),
      ],
      { riffId: 'RF64', riffSize: 0xffffffff },
    );
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.frameCount, 2);
    assert.deepEqual(decoded.warnings, []);
  });

  test('truncated data keeps whole frames', () => {
    // The header promises 10 stereo frames (40 bytes), but the file contains 3 and half of a 4th.
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 2, sampleRateHz: 8000, bitsPerSample: 16 }),
      chunk('data', pcmBytes([1, 2, 3, 4, 5, 6, 7], 2), 40),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.frameCount, 3);
    assert.deepEqual(Array.from(decoded.channelData[1]), [2, 4, 6].map((v) => v / 32768));
    assert.match(decoded.warnings.join('\n'), /shorter than its header declares \(10 frames\); decoded the 3 whole frames/);
  });

  test('trailing garbage after data', () => {
    const bytes = pcm16Mono([5, 6]);
    const withGarbage = new Uint8Array(bytes.length + 9);
    withGarbage.set(bytes);
    withGarbage.fill(0x01, bytes.length);
    const decoded = decodeWav(withGarbage, 'clip.wav');
    assert.equal(decoded.info.frameCount, 2);
    assert.match(decoded.warnings.join('\n'), /Ignored 9 bytes/);
  });

  test('wrong block align warns', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16, blockAlign: 4 }),
      chunk('data', pcmBytes([8192, 16384], 2)),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.deepEqual(Array.from(decoded.channelData[0]), [0.25, 0.5]);
    assert.match(decoded.warnings.join('\n'), /block align is 4 bytes/);
  });
});

describe('decodeWav errors', () => {
  test('zero-length data is empty', () => {
    assertDecodeError(() => decodeWav(pcm16Mono([]), 'clip.wav'), 'empty', /data chunk is 0 bytes long/);
  });

  test('zero-length data followed by a chunk', () => {
    const bytes = pcm16Mono([], { after: [chunk('LIST', new Uint8Array(4))] });
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'empty', /0 bytes/);
  });

  test('IMA ADPCM is unsupported', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: 0x0011, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 4, blockAlign: 256 }),
      chunk('data', new Uint8Array(256)),
    ]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'unsupported-codec', /IMA ADPCM \(format tag 0x0011\)/);
  });

  test('unknown format tag is unsupported', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: 0x1234, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 }),
      chunk('data', new Uint8Array(4)),
    ]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'unsupported-codec', /format tag 0x1234/);
  });

  test('extensible with vendor GUID', () => {
    const fmt = fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16, extensibleSubformat: PCM });
    fmt.payload[30] = 0x99;
    const bytes = riffWave([fmt, chunk('data', new Uint8Array(4))]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'unsupported-codec', /vendor GUID/);
  });

  test('missing fmt chunk', () => {
    const bytes = riffWave([chunk('data', pcmBytes([1], 2))]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'invalid-header', /no 'fmt ' chunk/);
  });

  test('missing data chunk', () => {
    const bytes = riffWave([fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 16 })]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'empty', /no 'data' chunk/);
  });

  test('zero channels or rate', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 0, sampleRateHz: 8000, bitsPerSample: 16, blockAlign: 2 }),
      chunk('data', new Uint8Array(4)),
    ]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'invalid-header', /0 channels/);
  });

  test('file cut inside fmt chunk', () => {
    const full = pcm16Mono([1, 2]);
    assertDecodeError(() => decodeWav(full.subarray(0, 30), 'clip.wav'), 'truncated', /ends inside its 'fmt' chunk/);
  });

  test('data chunk without one whole frame', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 2, sampleRateHz: 8000, bitsPerSample: 16 }),
      { id: 'data', payload: new Uint8Array(3), declaredSize: 400, omitPad: true },
    ]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'truncated', /promises 100 frames/);
  });

  test('big-endian RIFX is unsupported', () => {
    const bytes = pcm16Mono([1]);
    bytes.set([0x52, 0x49, 0x46, 0x58], 0);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'unsupported-format', /RIFX/);
  });

  test('12-bit PCM reads as 16-bit container', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 12, blockAlign: 2 }),
      chunk('data', pcmBytes([-32768, 16384], 2)),
    ]);
    const decoded = decodeWav(bytes, 'clip.wav');
    assert.equal(decoded.info.codec, 'pcm-s16');
    assert.deepEqual(Array.from(decoded.channelData[0]), [-1, 0.5]);
  });

  test('64-bit PCM is unsupported', () => {
    const bytes = riffWave([
      fmtChunk({ formatTag: PCM, channelCount: 1, sampleRateHz: 8000, bitsPerSample: 64 }),
      chunk('data', new Uint8Array(8)),
    ]);
    assertDecodeError(() => decodeWav(bytes, 'clip.wav'), 'unsupported-format', /64-bit PCM/);
  });
});
