// Decodes real files in every supported format and compares them with sox's decoding.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { decodeAudio } from '../../audio/decode';
import { AudioDecodeError } from '../../audio/errors';
import { readAudioFile } from '../../audio/node-file';
import { localFixture, runSox, sharedAudioDir, SKIP_WITHOUT_SOX, soxDecodeFloat } from './helpers';

interface ExpectedDecoding {
  file: string;
  frameCount: number;
  channelCount: number;
  samples2000: number[];
  soxWarning: string;
}

function readExpectedDecodings(): ExpectedDecoding[] {
  const text = readFileSync(join(sharedAudioDir(), 'nasty', 'expected_decoding.tsv'), 'utf8');
  // Strip only the final newline: the last row ends in empty tab-separated fields.
  const [header, ...rows] = text.replace(/\n+$/, '').split('\n');
  assert.deepEqual(header.split('\t').slice(0, 3), ['file', 'frames', 'channels']);
  return rows.map((row) => {
    const [file, frames, channels, samples, soxWarning = ''] = row.split('\t');
    return {
      file,
      frameCount: Number(frames),
      channelCount: Number(channels),
      samples2000: (samples ?? '').trim() === '' ? [] : samples.trim().split(' ').map(Number),
      soxWarning,
    };
  });
}

async function expectDecodeError(bytes: Uint8Array, code: string, reasonPattern: RegExp): Promise<void> {
  await assert.rejects(decodeAudio(bytes, 'input.bin'), (error: unknown) => {
    assert.ok(error instanceof AudioDecodeError, `expected AudioDecodeError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.reason, reasonPattern);
    assert.match(error.message, /^input\.bin: .+\. .+/);
    return true;
  });
}

describe('decodeAudio on awkward real files', () => {
  const expected = readExpectedDecodings();

  test('table lists every fixture', () => {
    const files = readdirSync(join(sharedAudioDir(), 'nasty')).filter((name) => name !== 'expected_decoding.tsv');
    assert.deepEqual(expected.map((row) => row.file).sort(), files.sort());
  });

  for (const row of expected) {
    test(`${row.file} matches sox`, async () => {
      const path = join(sharedAudioDir(), 'nasty', row.file);
      if (row.frameCount === 0) {
        await assert.rejects(readAudioFile(path), (error: unknown) => error instanceof AudioDecodeError && error.code === 'empty');
        return;
      }
      const decoded = await readAudioFile(path);
      assert.equal(decoded.info.channelCount, row.channelCount);
      if (row.file.endsWith('.mp3')) {
        // sox 14.4.2 decodes MP3 through libmad, which drops the last MPEG frame. mpg123
        // returns it, so we get exactly one frame (1152 samples) more.
        assert.equal(decoded.info.frameCount, row.frameCount + 1152);
      } else {
        assert.equal(decoded.info.frameCount, row.frameCount);
      }

      // sox prints six significant digits. Vorbis decoders differ by under one 16-bit step.
      const lossy = row.file.endsWith('.ogg');
      const actual = Array.from(decoded.channelData[0].subarray(2000, 2006));
      row.samples2000.forEach((reference, i) => {
        const tolerance = lossy ? 2 / 32768 : 1e-6 + 1e-5 * Math.abs(reference);
        assert.ok(
          Math.abs(actual[i] - reference) <= tolerance,
          `sample ${2000 + i}: got ${actual[i]}, sox ${reference}, tolerance ${tolerance}`,
        );
      });

      if (row.soxWarning !== '') {
        assert.match(decoded.warnings.join('\n'), /shorter than its header declares/);
      } else if (!row.file.endsWith('.mp3')) {
        assert.deepEqual(decoded.warnings, []);
      }
    });
  }

  test('lossless copies decode identically', async () => {
    const nasty = join(sharedAudioDir(), 'nasty');
    const source = await readAudioFile(join(nasty, '00_source_Front_Center_s16_48k_mono.wav'));
    for (const file of ['flac_48k_mono.flac', 'float32_48k_mono.wav', 'pcm24_48k_mono.wav', 'list_info_and_trailing_chunks.wav']) {
      const copy = await readAudioFile(join(nasty, file));
      assert.deepEqual(copy.channelData[0], source.channelData[0], file);
    }
  });

  test('truncated file keeps the leading frames', async () => {
    const nasty = join(sharedAudioDir(), 'nasty');
    const source = await readAudioFile(join(nasty, '00_source_Front_Center_s16_48k_mono.wav'));
    const cut = await readAudioFile(join(nasty, 'truncated_header_says_longer.wav'));
    assert.deepEqual(cut.channelData[0], source.channelData[0].subarray(0, cut.info.frameCount));
  });

  test('MP3 without LAME header warns', async () => {
    const decoded = await readAudioFile(join(sharedAudioDir(), 'nasty', 'mp3_48k_mono_128k.mp3'));
    assert.equal(decoded.info.codec, 'mp3');
    assert.equal(decoded.info.container, 'mpeg');
    assert.match(decoded.warnings.join('\n'), /no LAME\/Xing header/);
  });

  test('MP3 with LAME header is gapless', async () => {
    const decoded = await readAudioFile(localFixture('lame_gapless_48k_mono.mp3'));
    assert.equal(decoded.info.frameCount, 24000);
    assert.equal(decoded.info.channelCount, 1);
    assert.deepEqual(decoded.warnings, []);
    // The tone starts at frame 4800; it passes 0.25 within a few samples of its onset.
    // Without delay removal it would start 1105 frames later.
    const onset = decoded.channelData[0].findIndex((x) => Math.abs(x) > 0.25);
    assert.ok(onset >= 4795, `onset at frame ${onset}, expected about 4800`);
    assert.ok(onset <= 4815, `onset at frame ${onset}, expected about 4800`);
  });
});

describe('decodeAudio on shipped clips', () => {
  test('FLAC equals sox sample for sample', { skip: SKIP_WITHOUT_SOX }, async () => {
    const dir = join(sharedAudioDir(), 'shipped', 'sonic-pi');
    const file = readdirSync(dir).filter((name) => name.endsWith('.flac')).sort()[0];
    const decoded = await readAudioFile(join(dir, file));
    const reference = soxDecodeFloat(join(dir, file));
    assert.equal(decoded.info.frameCount * decoded.info.channelCount, reference.length);
    for (let c = 0; c < decoded.info.channelCount; c++) {
      for (let i = 0; i < decoded.info.frameCount; i++) {
        const expected = reference[i * decoded.info.channelCount + c];
        if (decoded.channelData[c][i] !== expected) {
          assert.fail(`${file} channel ${c} frame ${i}: got ${decoded.channelData[c][i]}, sox ${expected}`);
        }
      }
    }
  });

  test('Ogg Vorbis close to sox', { skip: SKIP_WITHOUT_SOX }, async () => {
    const dir = join(sharedAudioDir(), 'shipped', 'freedesktop');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.oga')).sort().slice(0, 3)) {
      const decoded = await readAudioFile(join(dir, file));
      const reference = soxDecodeFloat(join(dir, file));
      const channelCount = decoded.info.channelCount;
      assert.equal(decoded.info.frameCount * channelCount, reference.length, file);
      let maxError = 0;
      for (let c = 0; c < channelCount; c++) {
        for (let i = 0; i < decoded.info.frameCount; i++) {
          maxError = Math.max(maxError, Math.abs(decoded.channelData[c][i] - reference[i * channelCount + c]));
        }
      }
      // sox outputs libvorbis's float result rounded to 16 bits.
      assert.ok(maxError <= 1.5 / 32768, `${file}: max difference ${maxError}`);
    }
  });
});

describe('decodeAudio with files made by sox', { skip: SKIP_WITHOUT_SOX }, () => {
  let dir = '';
  let source = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mamba-audio-decode-'));
    source = join(sharedAudioDir(), 'nasty', '00_source_Front_Center_s16_48k_mono.wav');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('IMA ADPCM WAV is rejected', async () => {
    const path = join(dir, 'ima.wav');
    runSox([source, '-e', 'ima-adpcm', path]);
    await assert.rejects(readAudioFile(path), (error: unknown) => {
      assert.ok(error instanceof AudioDecodeError);
      assert.equal(error.code, 'unsupported-codec');
      assert.match(error.message, /ima\.wav: the WAV codec is IMA ADPCM/);
      assert.match(error.message, /Convert it to 16-bit PCM WAV or FLAC/);
      return true;
    });
  });

  test('24-bit extensible WAV and FLAC agree', async () => {
    // sox writes WAVE_FORMAT_EXTENSIBLE for 24-bit and for more than two channels.
    const wavPath = join(dir, 's24c3.wav');
    const flacPath = join(dir, 's24c3.flac');
    runSox([source, '-b', '24', '-c', '3', wavPath, 'vol', '0.9']);
    runSox([wavPath, flacPath]);
    const wav = await readAudioFile(wavPath);
    const flac = await readAudioFile(flacPath);
    assert.equal(wav.info.channelCount, 3);
    assert.equal(wav.info.bitsPerSample, 24);
    assert.equal(flac.info.bitsPerSample, 24);
    for (let c = 0; c < 3; c++) assert.deepEqual(flac.channelData[c], wav.channelData[c], `channel ${c}`);
    const reference = soxDecodeFloat(wavPath);
    assert.equal(wav.channelData[2][30000], reference[30000 * 3 + 2]);
  });

  test('AIFF is rejected', async () => {
    const path = join(dir, 'clip.aiff');
    runSox([source, path]);
    await assert.rejects(readAudioFile(path), (error: unknown) => error instanceof AudioDecodeError && error.code === 'unsupported-codec' && /AIFF/.test(error.reason));
  });

  test('cut FLAC and Ogg warn', async () => {
    const nasty = join(sharedAudioDir(), 'nasty');
    const flac = readFileSync(join(nasty, 'flac_48k_mono.flac'));
    const cutFlac = await decodeAudio(flac.subarray(0, 20000), 'cut.flac');
    assert.ok(cutFlac.info.frameCount > 0, `FLAC frames ${cutFlac.info.frameCount}`);
    assert.ok(cutFlac.info.frameCount < 68545, `FLAC frames ${cutFlac.info.frameCount}`);
    assert.match(cutFlac.warnings.join('\n'), /declares 68545 frames/);

    const ogg = readFileSync(join(nasty, 'vorbis_48k_mono.ogg'));
    const cutOgg = await decodeAudio(ogg.subarray(0, 6000), 'cut.ogg');
    assert.ok(cutOgg.info.frameCount > 0, `Ogg frames ${cutOgg.info.frameCount}`);
    assert.ok(cutOgg.info.frameCount < 68545, `Ogg frames ${cutOgg.info.frameCount}`);
    assert.match(cutOgg.warnings.join('\n'), /no end-of-stream page/);
  });
});

describe('decodeAudio on files that are not usable', () => {
  test('empty file', async () => {
    await expectDecodeError(new Uint8Array(0), 'empty', /0 bytes/);
  });

  test('text file', async () => {
    await expectDecodeError(new TextEncoder().encode('frames\tchannels\n1\t2\n'), 'not-audio', /text file/);
  });

  test('PNG image', async () => {
    await expectDecodeError(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'not-audio', /PNG image/);
  });

  test('random bytes', async () => {
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251);
    await expectDecodeError(bytes, 'not-audio', /not audio in a supported format/);
  });

  test('RIFF AVI', async () => {
    const bytes = new TextEncoder().encode('RIFF\x10\x00\x00\x00AVI LIST\x00\x00\x00\x00');
    await expectDecodeError(bytes, 'not-audio', /RIFF file of type 'AVI '/);
  });

  test('Ogg Opus is unsupported', async () => {
    const page = new Uint8Array(27 + 1 + 19);
    page.set(new TextEncoder().encode('OggS'), 0);
    page[26] = 1;
    page[27] = 19;
    page.set(new TextEncoder().encode('OpusHead'), 28);
    await expectDecodeError(page, 'unsupported-codec', /Ogg Opus/);
  });

  test('MP4 is unsupported', async () => {
    await expectDecodeError(new TextEncoder().encode('\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00'), 'unsupported-codec', /MPEG-4/);
  });

  test('garbage after FLAC magic', async () => {
    const bytes = new Uint8Array(2000).fill(7);
    bytes.set(new TextEncoder().encode('fLaC'), 0);
    await assert.rejects(decodeAudio(bytes, 'input.bin'), (error: unknown) => {
      assert.ok(error instanceof AudioDecodeError);
      assert.ok(['corrupt', 'empty'].includes(error.code), `code ${error.code}`);
      return true;
    });
  });

  test('damaged files never crash', async () => {
    // Truncations and byte flips of every fixture, from a fixed seed: each must decode or
    // throw AudioDecodeError, never another exception.
    const nasty = join(sharedAudioDir(), 'nasty');
    const files = readdirSync(nasty).filter((name) => name !== 'expected_decoding.tsv').sort();
    let state = 2024;
    const random = (limit: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % limit;
    };
    // The wasm decoders print their own errors; keep the test output readable.
    const consoleError = console.error;
    console.error = () => {};
    try {
      for (let iteration = 0; iteration < 200; iteration++) {
        const file = files[iteration % files.length];
        const bytes = new Uint8Array(readFileSync(join(nasty, file)));
        let damaged: Uint8Array;
        if (iteration % 3 === 0) {
          damaged = bytes.slice(0, random(Math.min(bytes.length, 3000)));
        } else {
          damaged = bytes;
          const region = iteration % 3 === 1 ? Math.min(bytes.length, 200) : bytes.length;
          for (let flip = 0; flip < 1 + random(16); flip++) damaged[random(region)] = random(256);
        }
        try {
          await decodeAudio(damaged, file);
        } catch (error) {
          if (!(error instanceof AudioDecodeError)) assert.fail(`iteration ${iteration}, ${file}: ${(error as Error).stack}`);
        }
      }
    } finally {
      console.error = consoleError;
    }
  });

  test('Ogg Vorbis headers only', async () => {
    const ogg = readFileSync(join(sharedAudioDir(), 'nasty', 'vorbis_48k_mono.ogg'));
    await assert.rejects(decodeAudio(ogg.subarray(0, 3000), 'input.bin'), (error: unknown) => {
      assert.ok(error instanceof AudioDecodeError);
      assert.ok(['corrupt', 'empty'].includes(error.code), `code ${error.code}`);
      assert.match(error.reason, /Vorbis decoder found no audio/);
      return true;
    });
  });
});
