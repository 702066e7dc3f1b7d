// Traces recorded while generating: the recorder's pooling of flat and U-Net chunk traces
// on synthetic values, and the real `mamba-audio generate --traces` writing the trace file
// and the PNG for a flat model and a U-Net.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { defaultTraceHop, GenerationTraceRecorder } from '../../cli/generation-traces';
import type { ChunkTraces } from '../../gpu/generate/generator';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { decodeSafetensors } from '../../gpu/model/safetensors';
import { tracedBlocks } from '../../gpu/model/sashimi-config';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');
const KINDS = ['delta', 'gate', 'stateNorm'] as const;

const FLAT = resolveConfig({ dModel: 8, nLayers: 2, dState: 4, expand: 2 });
const UNET = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });

/** Chunk traces whose value for (row, stream, channel) is 100 * row + 10 * stream + channel in every kind, for each layer's channels. */
function syntheticTraces(layerRows: number[], channels: number[], batch: number, stepSamples?: number[][]): ChunkTraces {
  const layer = (index: number) => Float32Array.from({ length: layerRows[index] * batch * channels[index] }, (_, i) => {
    const c = i % channels[index];
    const b = Math.floor(i / channels[index]) % batch;
    const row = Math.floor(i / (channels[index] * batch));
    return 100 * row + 10 * b + c;
  });
  const layers = layerRows.map((_, index) => layer(index));
  const traces: ChunkTraces = { delta: layers, gate: layers, stateNorm: layers };
  if (stepSamples) traces.stepSamples = stepSamples.map((samples) => Uint32Array.from(samples));
  return traces;
}

describe('generation trace recorder', () => {
  test('pools the first stream of a flat model into hop rows', () => {
    const channels = tracedBlocks(FLAT).map((layer) => layer.channels);
    assert.deepEqual(channels, [16, 16]);
    const recorder = new GenerationTraceRecorder(FLAT, 6, 4, 2);
    // Two chunks of 3 samples; the second chunk's rows are samples 3..5.
    recorder.add(syntheticTraces([3, 3], channels, 2), 0, 3);
    recorder.add(syntheticTraces([3, 3], channels, 2), 3, 3);
    const [first] = recorder.result();
    assert.equal(first.samplesPerRow, 4);
    assert.equal(first.delta.length, 2 * 16);
    // Row 0: samples 0..3 have chunk rows 0, 1, 2 and 0, so channel 5 averages (0 + 100 + 200 + 0) / 4 + 5.
    assert.equal(first.delta[5], 80);
    // Row 1: samples 4 and 5, chunk rows 1 and 2 of the second chunk.
    assert.equal(first.gate[16 + 5], 155);
  });

  test('spreads a U-Net step over the samples its level collected', () => {
    const layers = tracedBlocks(UNET);
    assert.deepEqual(
      layers.map((layer) => [layer.name, layer.stage, layer.channels, layer.stride]),
      [
        ['down.0.layers.0', 'level 0 down', 16, 1],
        ['down.1.layers.0', 'level 1 down', 32, 2],
        ['center.layers.0', 'level 2 center', 64, 4],
        ['up.1.layers.0', 'level 1 up', 32, 2],
        ['up.0.layers.0', 'level 0 up', 16, 1],
      ],
    );
    const channels = layers.map((layer) => layer.channels);
    const recorder = new GenerationTraceRecorder(UNET, 8, 1, 1);
    // 8 samples in one chunk: level 1 steps on samples 1, 3, 5, 7 and level 2 on samples 3 and 7.
    const steps = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 3, 5, 7], [3, 7], [1, 3, 5, 7], [0, 1, 2, 3, 4, 5, 6, 7]];
    recorder.add(syntheticTraces(steps.map((s) => s.length), channels, 1, steps), 0, 8);
    const result = recorder.result();
    const column = (layer: number, channel: number) => Array.from({ length: 8 }, (_, sample) => result[layer].delta[sample * channels[layer] + channel]);
    assert.deepEqual(column(1, 0), [0, 0, 100, 100, 200, 200, 300, 300]);
    assert.deepEqual(column(2, 3), [3, 3, 3, 3, 103, 103, 103, 103]);
    assert.deepEqual(column(4, 1), [1, 101, 201, 301, 401, 501, 601, 701]);
  });

  test('the default hop keeps the traces under the budget', () => {
    assert.equal(defaultTraceHop(FLAT, 1000, 1e9), 1);
    // 2 layers x 16 channels x 3 kinds = 96 numbers per sample.
    assert.equal(defaultTraceHop(FLAT, 1000, 9600), 10);
  });
});

interface RunResult {
  status: number | null;
  stderr: string;
}

function generate(...args: string[]): RunResult {
  const result = spawnSync(process.execPath, [BIN, 'generate', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stderr: result.stderr };
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-generate-traces-'));
  writeFileSync(join(dir, 'flat.safetensors'), encodeCheckpoint({ config: FLAT, params: initParameters(FLAT, 2) }));
  writeFileSync(join(dir, 'unet.safetensors'), encodeCheckpoint({ config: UNET, params: initParameters(UNET, 3) }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mamba-audio generate --traces', () => {
  for (const [name, config, hop] of [
    ['flat', FLAT, 1],
    ['unet', UNET, 4],
  ] as const) {
    test(`writes the ${name} model's traces and heatmap`, () => {
      const tracePath = join(dir, `${name}.traces.safetensors`);
      const pngPath = join(dir, `${name}.png`);
      const result = generate('--model', join(dir, `${name}.safetensors`), '--seconds', '0.02', '--out', join(dir, `${name}.wav`), '--traces', tracePath, '--traces-png', pngPath, '--trace-hop', String(hop));
      assert.equal(result.status, 0, result.stderr);
      assert.ok(existsSync(pngPath), 'PNG written');
      assert.ok(existsSync(join(dir, `${name}.bands.json`)), 'PNG sidecar written');

      const file = decodeSafetensors(readFileSync(tracePath), tracePath);
      assert.equal(file.metadata.sampleCount, '320');
      const rows = 320 / hop;
      tracedBlocks(config).forEach((layer, index) => {
        for (const kind of KINDS) {
          const tensor = file.tensors.get(`layers.${index}.${kind}`)!;
          assert.deepEqual(tensor.shape, [rows, layer.channels], `layers.${index}.${kind} shape`);
          assert.ok(tensor.data.every(Number.isFinite), `layers.${index}.${kind} is finite`);
          if (kind === 'delta') assert.ok(tensor.data.every((value) => value > 0), `layers.${index}.delta is a softplus`);
        }
      });
    });
  }

  test('rejects a trace file of another kind', () => {
    const wrong = generate('--model', join(dir, 'flat.safetensors'), '--seconds', '0.01', '--out', join(dir, 'x.wav'), '--traces', join(dir, 'x.csv'));
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--traces .*x\.csv must end in \.json or \.safetensors/);
    const hopAlone = generate('--model', join(dir, 'flat.safetensors'), '--seconds', '0.01', '--out', join(dir, 'x.wav'), '--trace-hop', '4');
    assert.equal(hopAlone.status, 2);
    assert.match(hopAlone.stderr, /--trace-hop needs --traces or --traces-png/);
  });
});
