// Input problems in `mamba-audio train` and `generate`: each is an error that names the
// file or value and what to change, never an internal error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.match(result.stderr, /Give a checkpoint that train or finetune wrote/);
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
    assert.doesNotMatch(result.stderr, /--eval-windows/);
    // The run was rejected before it started, so it leaves no folder behind.
    assert.equal(existsSync(join(dir, 'run')), false);
  });

  test('a clip too short to train on is skipped', () => {
    const folder = join(dir, 'mixed');
    mkdirSync(folder);
    copyFileSync(clip, join(folder, 'tone.wav'));
    // A tenth of a second, under the 0.25 s a training clip needs.
    writeFileSync(join(folder, 'click.wav'), encodeWav([new Float32Array(1600).fill(0.1)], 16000, 'pcm16').bytes);
    const result = cli('train', '--layers', '1', '--d-model', '8', '--window', '256', '--batch', '1', '--steps', '1', '--out', join(dir, 'mixed-run'), folder);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /warning: skipping \S*click\.wav: the clip lasts 0\.100 s, shorter than the 0\.25 s needed for training/);
    assert.match(result.stderr, /data: 1 clip, /);
    assert.match(result.stderr, /done: 1 step,/);

    // Alone, the short clip is still an error.
    const alone = cli('train', '--layers', '1', '--d-model', '8', '--steps', '1', '--out', join(dir, 'click-run'), join(folder, 'click.wav'));
    assert.equal(alone.status, 1);
    assert.match(alone.stderr, /click\.wav: the clip lasts 0\.100 s/);
  });

  test('resumed progress counts from the checkpoint', () => {
    const run = join(dir, 'resume-run');
    const first = cli('train', '--layers', '1', '--d-model', '8', '--window', '256', '--batch', '1', '--steps', '2', '--out', run, clip);
    assert.equal(first.status, 0, first.stderr);
    const resumed = cli('finetune', '--resume', '--window', '256', '--batch', '1', '--steps', '3', '--out', join(dir, 'resumed'), join(run, 'model.safetensors'), clip);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /done: 3 steps/);
    assert.match(resumed.stderr, /step 5\/5/);
  });
});
