// Runs the real `mamba-audio` executable on real files in a temporary folder.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { decodeWav } from '../../audio/wav-decode';
import { sharedAudioDir, SKIP_WITHOUT_SOX, soxInfo } from '../audio/helpers';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): RunResult {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-cli-'));
  const nasty = join(sharedAudioDir(), 'nasty');
  for (const file of ['pcm24_48k_mono.wav', 'stereo_44k1_s16_piano_5s.wav', 'truncated_header_says_longer.wav', 'zero_length_data.wav', 'flac_48k_mono.flac']) {
    copyFileSync(join(nasty, file), join(dir, file));
  }
  writeFileSync(join(dir, 'notes.txt'), 'not audio at all\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mamba-audio', () => {
  test('help lists the commands', () => {
    const result = cli('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^Usage: mamba-audio COMMAND/);
    for (const name of ['info', 'convert', 'bench-audio']) assert.match(result.stdout, new RegExp(`\\n  ${name} `));
  });

  test('no command is a usage error', () => {
    const result = cli();
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^Usage: mamba-audio/);
  });

  test('unknown command', () => {
    const result = cli('train-all');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'train-all'\. Commands: info, convert, .*generate.*\. Run 'mamba-audio --help' for usage/);
  });

  test('version', () => {
    const result = cli('--version');
    assert.equal(result.status, 0);
    const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout.trim(), packageJson.version);
  });
});

describe('mamba-audio info', () => {
  test('text output', () => {
    const result = cli('info', join(dir, 'pcm24_48k_mono.wav'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^file +.*pcm24_48k_mono\.wav$/m);
    assert.match(result.stdout, /^container +WAV$/m);
    assert.match(result.stdout, /^codec +24-bit signed PCM$/m);
    assert.match(result.stdout, /^sample rate +48000 Hz$/m);
    assert.match(result.stdout, /^channels +1$/m);
    assert.match(result.stdout, /^frames +68545$/m);
    assert.match(result.stdout, /^duration +1\.428 s$/m);
    assert.match(result.stdout, /^warnings +none$/m);
    assert.equal(result.stderr, '');
  });

  test('JSON output with a warning', () => {
    const result = cli('info', '--json', join(dir, 'truncated_header_says_longer.wav'));
    assert.equal(result.status, 0, result.stderr);
    const info = JSON.parse(result.stdout);
    assert.equal(info.container, 'wav');
    assert.equal(info.codec, 'pcm-s16');
    assert.equal(info.sampleRateHz, 48000);
    assert.equal(info.channelCount, 1);
    assert.equal(info.frameCount, 41127);
    assert.equal(info.bitsPerSample, 16);
    assert.ok(Math.abs(info.durationSec - 41127 / 48000) < 1e-9);
    assert.equal(info.warnings.length, 1);
    assert.match(info.warnings[0], /shorter than its header declares/);
  });

  test('FLAC and stereo', () => {
    const flac = JSON.parse(cli('info', '--json', join(dir, 'flac_48k_mono.flac')).stdout);
    assert.equal(flac.container, 'flac');
    assert.equal(flac.frameCount, 68545);
    const stereo = JSON.parse(cli('info', '--json', join(dir, 'stereo_44k1_s16_piano_5s.wav')).stdout);
    assert.equal(stereo.channelCount, 2);
    assert.equal(stereo.frameCount, 220500);
  });

  test('zero-length file fails readably', () => {
    const path = join(dir, 'zero_length_data.wav');
    const result = cli('info', path);
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `mamba-audio info: ${path}: the WAV data chunk is 0 bytes long, less than one frame, so the file has no audio. Open a file that contains a recording\n`);
  });

  test('JSON error object', () => {
    const result = cli('info', '--json', join(dir, 'notes.txt'));
    assert.equal(result.status, 1);
    const output = JSON.parse(result.stdout);
    assert.equal(output.error.code, 'not-audio');
    assert.match(output.error.message, /notes\.txt: the file is not audio but a text file/);
    assert.match(result.stderr, /not audio/);
  });

  test('missing file', () => {
    const result = cli('info', join(dir, 'nowhere.wav'));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /nowhere\.wav: the file was not found\. Check the path/);
  });

  test('directory instead of file', () => {
    const result = cli('info', dir);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the path is a directory, not a file/);
  });

  test('usage errors exit 2', () => {
    const unknown = cli('info', '--bogus', join(dir, 'pcm24_48k_mono.wav'));
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /mamba-audio info: unknown option --bogus\nRun 'mamba-audio info --help' for usage\./);
    const missing = cli('info');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing FILE/);
  });

  test('command help', () => {
    for (const args of [['info', '--help'], ['help', 'info']]) {
      const result = cli(...args);
      assert.equal(result.status, 0);
      assert.match(result.stdout, /^Usage: mamba-audio info \[options\] FILE/);
      assert.match(result.stdout, /--json/);
    }
  });

  test('npm run cli', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['run', '--silent', 'cli', '--', 'info', '--json', join(dir, 'pcm24_48k_mono.wav')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).frameCount, 68545);
  });
});

describe('mamba-audio convert', () => {
  test('stereo 44.1 kHz to 16 kHz mono', () => {
    const output = join(dir, 'piano_16k.wav');
    const result = cli('convert', join(dir, 'stereo_44k1_s16_piano_5s.wav'), output);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Wrote .*piano_16k\.wav: 80000 frames \(5\.000 s\) of mono 16-bit PCM at 16000 Hz, gain [\d.]+ dB\./);
    const decoded = decodeWav(readFileSync(output), output);
    assert.equal(decoded.info.sampleRateHz, 16000);
    assert.equal(decoded.info.channelCount, 1);
    assert.equal(decoded.info.frameCount, 80000);
    const peak = decoded.channelData[0].reduce((max, x) => Math.max(max, Math.abs(x)), 0);
    assert.ok(peak > 0.999, `peak ${peak}`);
  });

  test('output opens in sox', { skip: SKIP_WITHOUT_SOX }, () => {
    const output = join(dir, 'speech_22k.wav');
    const result = cli('convert', '--rate', '22050', '--format', 'float32', join(dir, 'pcm24_48k_mono.wav'), output);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(soxInfo(output), { sampleRateHz: 22050, channelCount: 1, frameCount: Math.round((68545 * 22050) / 48000) });
  });

  test('quantised output and channel choice', () => {
    const output = join(dir, 'left_mulaw.wav');
    const result = cli('convert', '--channel', '0', '--quantize', 'mu-law', join(dir, 'stereo_44k1_s16_piano_5s.wav'), output);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /mu-law quantised/);
    const decoded = decodeWav(readFileSync(output), output);
    assert.ok(new Set(decoded.channelData[0]).size <= 256, 'at most 256 distinct values');
  });

  test('bad input writes nothing', () => {
    const output = join(dir, 'never.wav');
    const result = cli('convert', join(dir, 'zero_length_data.wav'), output);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /zero_length_data\.wav: the WAV data chunk is 0 bytes long/);
    assert.equal(existsSync(output), false);
  });

  test('invalid option values exit 2', () => {
    const input = join(dir, 'pcm24_48k_mono.wav');
    const output = join(dir, 'x.wav');
    for (const [args, pattern] of [
      [['--rate', 'fast'], /--rate must be an integer, got 'fast'/],
      [['--rate', '100'], /--rate must be an integer from 1000 to 384000, got 100/],
      [['--format', 'mp3'], /--format must be one of pcm16, float32/],
      [['--channel', 'left'], /--channel must be 'mix' or a channel number/],
      [['--channel', '1'], /--channel 1 does not exist: .* has 1 channels/],
      [['--no-normalize', '--peak', '0.5'], /--peak has no effect with --no-normalize/],
    ] as const) {
      const result = cli('convert', ...args, input, output);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
    }
    assert.equal(existsSync(output), false);
  });

  test('missing output folder fails before decoding', () => {
    const result = cli('convert', join(dir, 'pcm24_48k_mono.wav'), join(dir, 'no-such-folder', 'x.wav'));
    assert.equal(result.status, 2);
    assert.match(result.stderr, /the folder of OUT .*no-such-folder.* does not exist; create it or choose another path/);
  });

  test('too-short clip fails', () => {
    const output = join(dir, 'short.wav');
    const result = cli('convert', '--min-duration', '2', join(dir, 'pcm24_48k_mono.wav'), output);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the clip lasts 1\.428 s, shorter than the 2 s needed for training/);
  });
});

describe('mamba-audio bench-audio', () => {
  test('short run reports figures', () => {
    const result = cli('bench-audio', '--duration', '2', '--runs', '1', '--json');
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.outputFrameCount, 32000);
    assert.ok(report.oursMedianSec.totalSec > 0);
    if (existsSync('/usr/bin/sox')) assert.ok(report.ratioOursToSox > 0);
  });
});
