// `mamba-audio train` and `generate` with a SaShiMi config, run as the real executable on
// files in a temporary folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { decodeWav } from '../../audio/wav-decode';
import { encodeWav } from '../../audio/wav-encode';
import { decodeCheckpoint } from '../../gpu/model/checkpoint';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir = '';
let clip = '';
let configPath = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-sashimi-'));
  // One second of a 440 Hz tone at 16 kHz.
  const samples = Float32Array.from({ length: 16000 }, (_, t) => 0.5 * Math.sin((2 * Math.PI * 440 * t) / 16000));
  clip = join(dir, 'tone.wav');
  writeFileSync(clip, encodeWav([samples], 16000, 'pcm16').bytes);
  configPath = join(dir, 'unet.json');
  const config = { backbone: 'sashimi', dModel: 8, dState: 4, sashimi: { pool: [4, 4], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } };
  writeFileSync(configPath, JSON.stringify(config));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mamba-audio with a SaShiMi config', () => {
  test('train then generate', () => {
    const run = join(dir, 'run');
    const trained = cli('train', '--config', configPath, '--steps', '2', '--window', '64', '--batch', '2', '--eval-windows', '2', '--out', run, '--json', clip);
    assert.equal(trained.status, 0, trained.stderr);
    assert.match(trained.stderr, /model: [\d,]+ parameters, SaShiMi U-Net with pool factors \[4, 4\], widths D=8\/16\/32, 5 blocks/);
    const events = trained.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(events.filter((event) => event.event === 'step').length, 2);
    const checkpoint = join(run, 'model.safetensors');
    assert.ok(existsSync(checkpoint));
    const saved = decodeCheckpoint(readFileSync(checkpoint), checkpoint);
    assert.equal(saved.config.backbone, 'sashimi');
    assert.ok(saved.params.has('backbone.up.1.pool.weight'));

    const out = join(dir, 'generated.wav');
    const generated = cli('generate', '--model', checkpoint, '--seconds', '0.01', '--seed', '3', '--out', out);
    assert.equal(generated.status, 0, generated.stderr);
    assert.equal(decodeWav(readFileSync(out), out).channelData[0].length, 160);

    const continued = join(dir, 'continued.wav');
    // 72 prompt samples, off the grid of the pool product 16, so the prefill ends inside a pooled step.
    const prompted = cli('generate', '--model', checkpoint, '--seconds', '0.005', '--prompt', clip, '--prompt-seconds', '0.0045', '--include-prompt', '--out', continued);
    assert.equal(prompted.status, 0, prompted.stderr);
    assert.doesNotMatch(prompted.stderr, /step by step/);
    assert.equal(decodeWav(readFileSync(continued), continued).channelData[0].length, 72 + 80);
  });

  test('window off the pool grid is a usage error', () => {
    const result = cli('train', '--config', configPath, '--window', '100', '--out', join(dir, 'bad'), clip);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /multiples of 16 time steps, and L = 100 is not one; set --window to a multiple of it \(e\.g\. 96\)/);
  });

  test('--layers with a SaShiMi config is a usage error', () => {
    const result = cli('train', '--config', configPath, '--layers', '4', clip);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--layers sets the depth of a flat backbone; for the sashimi backbone set downBlocks, centerBlocks and upBlocks/);
  });
});
