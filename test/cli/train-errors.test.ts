// Input problems in `mamba-audio train` and `generate`: each is an error that names the
// file or value and what to change, never an internal error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { encodeWav } from '../../audio/wav-encode';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');

let dir = '';
let clip = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-train-errors-'));
  // Half a second of a 220 Hz tone at 16 kHz.
  const samples = Float32Array.from({ length: 8000 }, (_, t) => 0.5 * Math.sin((2 * Math.PI * 220 * t) / 16000));
  clip = join(dir, 'short.wav');
  writeFileSync(clip, encodeWav([samples], 16000, 'pcm16').bytes);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
}

describe('mamba-audio input errors', () => {
  test('generate from a file that is not a checkpoint', () => {
    const notCheckpoint = join(dir, 'notes.safetensors');
    writeFileSync(notCheckpoint, 'not a checkpoint');
    const result = cli('generate', '--model', notCheckpoint, '--seconds', '0.01', '--out', join(dir, 'out.wav'));
    assert.equal(result.status, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /internal error/);
    assert.match(result.stderr, /notes\.safetensors: not a valid safetensors file/);
  });

  test('train with a misspelled config key', () => {
    const config = join(dir, 'typo.json');
    writeFileSync(config, JSON.stringify({ dModle: 16 }));
    const result = cli('train', '--config', config, clip);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stderr, /internal error/);
    assert.match(result.stderr, /unknown key "dModle"/);
  });

  test('held-out batch too large', () => {
    const result = spawnSync(
      process.execPath,
      [BIN, 'train', '--layers', '1', '--d-model', '8', '--window', '256', '--batch', '8', '--steps', '1', '--out', join(dir, 'run'), clip],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(result.status, 2, result.stderr);
    assert.doesNotMatch(result.stderr, /internal error/);
    assert.match(result.stderr, /no full batch of 8 windows of 256 samples; hold out more audio or lower the batch size/);
  });
});
