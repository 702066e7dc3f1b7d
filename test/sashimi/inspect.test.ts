// `mamba-audio inspect` on a SaShiMi checkpoint, run as the real executable. The trace
// files contain every block of every level at its level's time resolution, equal to the
// CPU reference. The PNG has one band per block and trace, and its sidecar describes them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pngjs from 'pngjs';

import { readAudioFile } from '../../audio/node-file';
import { prepareCodes } from '../../audio/prepare';
import { encodeWav } from '../../audio/wav-encode';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { decodeSafetensors } from '../../gpu/model/safetensors';
import { sashimiTracesRef } from '../../gpu/reference/sashimi';
import { assertClose } from '../support/compare';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');
const RATE_HZ = 16000;
const KINDS = ['delta', 'gate', 'stateNorm'] as const;

// Pool product 16; blocks in forward order: down.0 (stride 1), down.1 (4), center (16), up.1 (4), up.0 (1).
const CONFIG = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, sashimi: { pool: [4, 4], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });
const PARAMS = initParameters(CONFIG, 11);
const STRIDES = [1, 4, 16, 4, 1];
const CHANNELS = [16, 32, 64, 32, 16];

function inspect(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, 'inspect', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir = '';
let clip = '';
let modelPath = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-sashimi-inspect-'));
  // A 0.2 s chirp, so that the traces change along time.
  const samples = Float32Array.from({ length: 3200 }, (_, t) => 0.6 * Math.sin((2 * Math.PI * (200 + t / 4) * t) / RATE_HZ));
  clip = join(dir, 'chirp.wav');
  writeFileSync(clip, encodeWav([samples], RATE_HZ, 'pcm16').bytes);
  modelPath = join(dir, 'unet.safetensors');
  writeFileSync(modelPath, encodeCheckpoint({ config: CONFIG, params: PARAMS }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Returns the codes the CLI traces: the whole clip prepared as the CLI prepares it, then the span. */
async function spanCodes(startSample: number, count: number): Promise<Uint8Array> {
  const prepared = prepareCodes(await readAudioFile(clip), { sampleRateHz: RATE_HZ, quantization: 'mu-law', minDurationSec: 0 });
  return prepared.codes.subarray(startSample, startSample + count);
}

describe('mamba-audio inspect with a SaShiMi U-Net', () => {
  test('safetensors matches CPU reference', async () => {
    // 808 samples: not a multiple of 16, so the CLI pads the window to 816 with the mid-scale code.
    const L = 808;
    const outPath = join(dir, 'span.safetensors');
    const result = inspect('--model', modelPath, '--start', '0.01', '--duration', String(L / RATE_HZ), '--out', outPath, '--width', '200', clip);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /5 blocks x 16\/32\/64 channels/);

    const file = decodeSafetensors(readFileSync(outPath), outPath);
    const layerInfo = JSON.parse(file.metadata.layerInfo);
    assert.equal(layerInfo.length, CONFIG.nLayers);
    assert.deepEqual(layerInfo.map((info: { samplesPerRow: number }) => info.samplesPerRow), STRIDES);
    assert.deepEqual(layerInfo.map((info: { channels: number }) => info.channels), CHANNELS);
    assert.equal(layerInfo[2].label, 'center.layers.0 (16 samples per row)');

    const padded = new Uint32Array(816).fill(128);
    padded.set(await spanCodes(160, L));
    const reference = sashimiTracesRef(CONFIG, PARAMS, padded, 1);
    for (let block = 0; block < CONFIG.nLayers; block++) {
      const rows = Math.ceil(L / STRIDES[block]);
      for (const kind of KINDS) {
        const tensor = file.tensors.get(`layers.${block}.${kind}`)!;
        assert.deepEqual(tensor.shape, [rows, CHANNELS[block]], `block ${block} ${kind} shape`);
        assertClose(tensor.data, reference[block][kind].subarray(0, rows * CHANNELS[block]), { atol: 1e-5, rtol: 1e-3 }, `block ${block} ${kind}`);
      }
    }
  });

  test('json, png and sidecar', () => {
    const jsonPath = join(dir, 'unet.json');
    const pngPath = join(dir, 'unet.png');
    const result = inspect('--model', modelPath, '--duration', '0.1', '--hop', '32', '--out', jsonPath, '--png', pngPath, '--width', '300', clip);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /heatmap: .*unet\.png \(300 x \d+ px\)/);

    const traces = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const L = 1600;
    assert.equal(traces.rows, L / 32);
    assert.equal(traces.traces.length, CONFIG.nLayers);
    traces.traces.forEach((layer: Record<string, unknown>, block: number) => {
      // Rows of max(hop, stride) samples: 32 for every block here.
      assert.equal(layer.samplesPerRow, 32, `block ${block} samples per row`);
      assert.equal(layer.channels, CHANNELS[block], `block ${block} channels`);
      for (const kind of KINDS) {
        const rows = layer[kind] as number[][];
        assert.equal(rows.length, L / 32, `block ${block} ${kind} rows`);
        assert.ok(rows.every((row) => row.length === CHANNELS[block] && row.every(Number.isFinite)), `block ${block} ${kind} values`);
      }
    });

    const png = pngjs.PNG.sync.read(readFileSync(pngPath));
    const sidecar = JSON.parse(readFileSync(join(dir, 'unet.bands.json'), 'utf8'));
    assert.equal(png.width, 300);
    assert.equal(png.height, sidecar.height);
    assert.equal(sidecar.bands.length, CONFIG.nLayers * KINDS.length);
    for (const band of sidecar.bands) {
      assert.equal(band.samplesPerRow, STRIDES[band.layer], `band ${band.label} ${band.kind} samples per row`);
      assert.equal(band.height, CHANNELS[band.layer] * band.pxPerChannel, `band ${band.label} ${band.kind} height`);
      assert.ok(band.low <= band.high, `band ${band.label} ${band.kind} range`);
    }
  });

  test('windows keep the level grid', () => {
    const singlePath = join(dir, 'single.safetensors');
    const splitPath = join(dir, 'split.safetensors');
    assert.equal(inspect('--model', modelPath, '--duration', '0.2', '--out', singlePath, clip).status, 0);
    const split = inspect('--model', modelPath, '--duration', '0.2', '--window', '1024', '--overlap', '512', '--out', splitPath, clip);
    assert.equal(split.status, 0, split.stderr);
    assert.match(split.stderr, /window 6\/6: samples 2560 to 3200/);
    const single = decodeSafetensors(readFileSync(singlePath), singlePath);
    const splitFile = decodeSafetensors(readFileSync(splitPath), splitPath);
    // The first block's delta and gate depend only on the last K inputs, so the split is exact there.
    for (const kind of ['delta', 'gate'] as const) {
      const name = `layers.0.${kind}`;
      assertClose(splitFile.tensors.get(name)!.data, single.tensors.get(name)!.data, { atol: 1e-6, rtol: 1e-5 }, name);
    }
    for (let block = 0; block < CONFIG.nLayers; block++) {
      assert.deepEqual(splitFile.tensors.get(`layers.${block}.gate`)!.shape, single.tensors.get(`layers.${block}.gate`)!.shape, `block ${block} shape`);
    }
  });

  test('grid errors name the pool product', () => {
    const out = join(dir, 'error.json');
    const cases: Array<[string[], RegExp]> = [
      [['--window', '1000'], /--window 1000 must be a multiple of 16, because this U-Net's pool factors \[4,4\] multiply to 16/],
      [['--overlap', '100'], /--overlap 100 must be a multiple of 16.*e\.g\. --overlap 112/],
      [['--hop', '24'], /--hop 24 must be 1 or a multiple of 16/],
    ];
    for (const [args, message] of cases) {
      const result = inspect('--model', modelPath, '--out', out, ...args, clip);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});
