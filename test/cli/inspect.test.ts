// Runs the real `mamba-audio inspect` on a shipped clip with a small checkpoint written
// for the test, and checks the trace files, the PNG and its sidecar, the traces against
// the CPU reference model, and the error exits.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pngjs from 'pngjs';

import { readAudioFile } from '../../audio/node-file';
import { prepareCodes } from '../../audio/prepare';
import { DEFAULT_MODEL_PATH } from '../../cli/commands/inspect';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { innerWidth, resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { decodeSafetensors } from '../../gpu/model/safetensors';
import { modelForwardRef } from '../../gpu/reference/model';
import { sharedAudioDir } from '../audio/helpers';
import { assertClose } from '../support/compare';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');
const CLIP = join(sharedAudioDir(), 'shipped_16k', 'sonic-pi_ambi_piano.wav');
const RATE_HZ = 16000;

const CONFIG = resolveConfig({ dModel: 16, nLayers: 2, dState: 16, expand: 2 });
const PARAMS = initParameters(CONFIG, 5);
const DI = innerWidth(CONFIG);
const KINDS = ['delta', 'gate', 'stateNorm'] as const;

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function inspect(...args: string[]): RunResult {
  const result = spawnSync(process.execPath, [BIN, 'inspect', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertAllFinite(values: ArrayLike<number>, label: string): void {
  for (let i = 0; i < values.length; i++) assert.ok(Number.isFinite(values[i]), `${label}[${i}] = ${values[i]}`);
}

let dir = '';
let modelPath = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-inspect-'));
  modelPath = join(dir, 'tiny.safetensors');
  writeFileSync(modelPath, encodeCheckpoint({ config: CONFIG, params: PARAMS }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mamba-audio inspect', () => {
  test('json, png and sidecar', () => {
    const jsonPath = join(dir, 'half.json');
    const pngPath = join(dir, 'half.png');
    const result = inspect('--model', modelPath, '--duration', '0.5', '--out', jsonPath, '--png', pngPath, '--width', '400', CLIP);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /heatmap: .*half\.png \(400 x \d+ px\)/);

    const traces = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const L = 0.5 * RATE_HZ;
    assert.equal(traces.format, 'mamba-audio-inspect/1');
    assert.equal(traces.sampleCount, L);
    assert.equal(traces.rows, L);
    assert.equal(traces.channels, DI);
    assert.equal(traces.startSample, 0);
    assert.equal(traces.time.samples.length, L);
    assert.equal(traces.time.seconds.length, L);
    assert.equal(traces.time.samples[L - 1], L - 1);
    assert.ok(Math.abs(traces.time.seconds[L - 1] - (L - 1) / RATE_HZ) < 1e-12);
    assert.equal(traces.peaks.min.length, 400);
    assert.equal(traces.peaks.max.length, 400);
    for (let i = 0; i < 400; i++) assert.ok(traces.peaks.min[i] <= traces.peaks.max[i], `peak bucket ${i}`);
    assert.equal(traces.traces.length, CONFIG.nLayers);
    for (const layer of traces.traces) {
      for (const kind of KINDS) {
        const rows: number[][] = layer[kind];
        assert.equal(rows.length, L, `layer ${layer.layer} ${kind} rows`);
        for (const row of rows) assert.equal(row.length, DI, `layer ${layer.layer} ${kind} row width`);
        assertAllFinite(rows.flat(), `layer ${layer.layer} ${kind}`);
      }
      assert.ok(layer.delta.flat().every((value: number) => value > 0), 'delta after softplus is positive');
      assert.ok(layer.stateNorm.flat().every((value: number) => value >= 0), 'state norms are not negative');
    }

    const png = pngjs.PNG.sync.read(readFileSync(pngPath));
    const sidecar = JSON.parse(readFileSync(join(dir, 'half.bands.json'), 'utf8'));
    assert.equal(png.width, 400);
    assert.equal(sidecar.width, 400);
    assert.equal(png.height, sidecar.height);
    assert.equal(sidecar.bands.length, CONFIG.nLayers * KINDS.length);
    let previousEnd = sidecar.timeAxis.y + sidecar.timeAxis.height;
    for (const band of sidecar.bands) {
      assert.ok(band.y >= previousEnd, `band ${band.layer} ${band.kind} starts below the previous one`);
      assert.equal(band.height, DI * band.pxPerChannel);
      assert.ok(band.low <= band.high, `band ${band.layer} ${band.kind} range`);
      previousEnd = band.y + band.height;
    }
    assert.ok(previousEnd <= png.height, 'bands fit in the image');
    assert.match(sidecar.normalization, /per band/);
  });

  test('safetensors matches CPU reference', async () => {
    const outPath = join(dir, 'span.safetensors');
    const result = inspect('--model', modelPath, '--start', '1', '--duration', '0.05', '--out', outPath, '--width', '100', CLIP);
    assert.equal(result.status, 0, result.stderr);

    const file = decodeSafetensors(readFileSync(outPath), outPath);
    const L = 0.05 * RATE_HZ;
    assert.equal(file.metadata.startSample, String(RATE_HZ));
    assert.equal(file.metadata.sampleCount, String(L));
    assert.deepEqual(file.tensors.get('time.samples')!.shape, [L]);
    assert.equal(file.tensors.get('time.samples')!.data[0], RATE_HZ);
    assert.equal(file.tensors.get('time.seconds')!.data[0], 1);
    assert.deepEqual(file.tensors.get('peaks.min')!.shape, [100]);

    // The reference gets the same codes: the whole clip prepared as the CLI prepares it, then the span.
    const prepared = prepareCodes(await readAudioFile(CLIP), { sampleRateHz: RATE_HZ, quantization: 'mu-law', minDurationSec: 0 });
    const codes = prepared.codes.subarray(RATE_HZ, RATE_HZ + L);
    const reference = modelForwardRef(CONFIG, PARAMS, codes, 1);
    for (let layer = 0; layer < CONFIG.nLayers; layer++) {
      for (const kind of KINDS) {
        const tensor = file.tensors.get(`layers.${layer}.${kind}`)!;
        assert.deepEqual(tensor.shape, [L, DI], `layers.${layer}.${kind} shape`);
        assertClose(tensor.data, reference.traces[layer][kind], { atol: 1e-5, rtol: 1e-3 }, `layer ${layer} ${kind}`);
      }
    }
  });

  test('windows with overlap match single pass', () => {
    const singlePath = join(dir, 'single.safetensors');
    const splitPath = join(dir, 'split.safetensors');
    const single = inspect('--model', modelPath, '--duration', '1', '--out', singlePath, CLIP);
    assert.equal(single.status, 0, single.stderr);
    const split = inspect('--model', modelPath, '--duration', '1', '--window', '6000', '--overlap', '4000', '--out', splitPath, CLIP);
    assert.equal(split.status, 0, split.stderr);
    assert.match(split.stderr, /window 6\/6: samples 10000 to 16000/);

    const singleFile = decodeSafetensors(readFileSync(singlePath), singlePath);
    const splitFile = decodeSafetensors(readFileSync(splitPath), splitPath);
    // Layer 0's delta and gate depend only on the last K inputs, so the split is exact there.
    for (const kind of ['delta', 'gate'] as const) {
      const name = `layers.0.${kind}`;
      assertClose(splitFile.tensors.get(name)!.data, singleFile.tensors.get(name)!.data, { atol: 1e-6, rtol: 1e-5 }, name);
    }
    // The rest depends on SSM states that the overlap rebuilds only approximately.
    for (let layer = 0; layer < CONFIG.nLayers; layer++) {
      for (const kind of KINDS) {
        const name = `layers.${layer}.${kind}`;
        assertClose(splitFile.tensors.get(name)!.data, singleFile.tensors.get(name)!.data, { atol: 2e-3, rtol: 2e-2 }, name);
      }
    }
  });

  test('hop averages rows', () => {
    const fullPath = join(dir, 'full.safetensors');
    const hopPath = join(dir, 'hop.safetensors');
    assert.equal(inspect('--model', modelPath, '--duration', '0.01', '--out', fullPath, CLIP).status, 0);
    assert.equal(inspect('--model', modelPath, '--duration', '0.01', '--hop', '64', '--out', hopPath, CLIP).status, 0);

    const full = decodeSafetensors(readFileSync(fullPath), fullPath).tensors.get('layers.1.gate')!;
    const hop = decodeSafetensors(readFileSync(hopPath), hopPath);
    const pooled = hop.tensors.get('layers.1.gate')!;
    // 160 samples in blocks of 64: rows start at 0, 64 and 128, the last block has 32 samples.
    assert.deepEqual(pooled.shape, [3, DI]);
    assert.deepEqual(Array.from(hop.tensors.get('time.samples')!.data), [0, 64, 128]);
    const expected = new Float32Array(3 * DI);
    for (let row = 0; row < 160; row++) {
      for (let channel = 0; channel < DI; channel++) expected[Math.floor(row / 64) * DI + channel] += full.data[row * DI + channel] / (row < 128 ? 64 : 32);
    }
    assertClose(pooled.data, expected, { atol: 1e-6, rtol: 1e-5 }, 'pooled gate');
  });

  test('usage and input errors', () => {
    const corruptPath = join(dir, 'corrupt.safetensors');
    writeFileSync(corruptPath, 'not a checkpoint at all');
    const out = join(dir, 'error.json');
    const cases: Array<{ args: string[]; status: number; message: RegExp }> = [
      { args: ['--model', modelPath, CLIP], status: 2, message: /nothing to write/ },
      { args: ['--model', modelPath, '--out', join(dir, 'x.txt'), CLIP], status: 2, message: /must end in \.json or \.safetensors/ },
      { args: ['--model', modelPath, '--png', join(dir, 'x.jpg'), CLIP], status: 2, message: /must end in \.png/ },
      { args: ['--model', modelPath, '--out', out, join(dir, 'missing.wav')], status: 1, message: /missing\.wav/ },
      { args: ['--model', modelPath, '--out', out, '--start', '100', CLIP], status: 2, message: /past the end of the clip, which lasts 2\.81/ },
      { args: ['--model', corruptPath, '--out', out, CLIP], status: 1, message: /corrupt\.safetensors: not a valid safetensors file/ },
      { args: ['--model', join(dir, 'absent.safetensors'), '--out', out, CLIP], status: 2, message: /absent\.safetensors/ },
      { args: ['--model', modelPath, '--out', out, '--window', '100000000', CLIP], status: 2, message: /--window 100000000 is too large/ },
      { args: ['--model', modelPath, '--out', out, '--window', '1000', '--overlap', '1000', CLIP], status: 2, message: /--overlap 1000 must be below/ },
      // Checked before the model runs, so the work is not thrown away at the end.
      { args: ['--model', modelPath, '--out', join(dir, 'no-such-folder', 'x.json'), '--duration', '0.01', CLIP], status: 2, message: /the folder of --out .*no-such-folder.* does not exist; create it or choose another path/ },
      { args: ['--model', modelPath, '--png', join(dir, 'no-such-folder', 'x.png'), '--duration', '0.01', CLIP], status: 2, message: /the folder of --png .*no-such-folder.* does not exist/ },
    ];
    for (const { args, status, message } of cases) {
      const result = inspect(...args);
      assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
    assert.equal(existsSync(out), false, 'no trace file after an error');
  });

  test('default model missing', { skip: existsSync(DEFAULT_MODEL_PATH) ? 'the default model exists' : false }, () => {
    const result = inspect('--out', join(dir, 'default.json'), CLIP);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /pass --model FILE\.safetensors/);
  });

  test('default model used', { skip: existsSync(DEFAULT_MODEL_PATH) ? false : 'no default model in assets/' }, () => {
    const outPath = join(dir, 'default.safetensors');
    const result = inspect('--duration', '0.05', '--out', outPath, CLIP);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(decodeSafetensors(readFileSync(outPath), outPath).metadata.model, DEFAULT_MODEL_PATH);
  });
});
