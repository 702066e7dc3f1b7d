// A prompt longer than one parallel forward takes: `generate` prefills what fits and feeds
// the rest through the recurrent step. The state it leaves must equal that of a prompt
// prefilled whole, for a flat model and a U-Net, and the command reports the split.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { readPrompt } from '../../cli/commands/generate';
import type { CliIo } from '../../cli/command';
import { createBackboneGenerator } from '../../gpu/generate/backbone';
import type { Generator } from '../../gpu/generate/generator';
import { SashimiGenerator } from '../../gpu/generate/sashimi-generator';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { sharedAudioDir } from '../audio/helpers';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');
const CLIP = join(sharedAudioDir(), 'piano', 'reunion_16k.wav');
const TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

const FLAT = resolveConfig({ vocabSize: 32, encoding: 'tokens', dModel: 8, nLayers: 2, dState: 4, expand: 2 });
const UNET = resolveConfig({ backbone: 'sashimi', vocabSize: 32, encoding: 'tokens', dModel: 8, dState: 4, sashimi: { pool: [2, 3], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });

/** Collects what readPrompt prints. */
function quietIo(): CliIo & { text: string[] } {
  const text: string[] = [];
  return { text, stdout: (line) => void text.push(line), stderr: (line) => void text.push(line) };
}

describe('prompt longer than one forward', () => {
  for (const [name, config] of [
    ['flat', FLAT],
    ['unet', UNET],
  ] as const) {
    gpuTest(`${name}: prefill then steps equals prefill`, async (ctx) => {
      const checkpoint = { config, params: initParameters(config, 6) };
      const B = 2;
      const prompt = Uint8Array.from({ length: 301 }, (_, i) => (i * 13 + 5) % config.vocabSize);
      const whole = createBackboneGenerator(ctx, config, checkpoint.params, { batch: B });
      const split = createBackboneGenerator(ctx, config, checkpoint.params, { batch: B });
      try {
        await readPrompt(ctx, checkpoint, whole, prompt, B, quietIo());
        // 200 rows of 2 streams: 100 samples prefilled, 201 stepped in pieces.
        const io = quietIo();
        await readPrompt(ctx, checkpoint, split, prompt, B, io, 200);
        assert.match(io.text.join(''), /step by step/);

        if (whole instanceof SashimiGenerator && split instanceof SashimiGenerator) {
          const [a, b] = [await whole.getState(), await split.getState()];
          assert.equal(b.time, a.time);
          a.blocks.forEach((block, i) => assertClose(b.blocks[i].ssm, block.ssm, TOLERANCE, `block ${i} SSM state`));
          a.down.forEach((buffer, s) => assertClose(b.down[s], buffer, TOLERANCE, `level ${s} down buffer`));
        } else {
          const [a, b] = [await (whole as Generator).getState(), await (split as Generator).getState()];
          a.forEach((layer, i) => assertClose(b[i].ssm, layer.ssm, TOLERANCE, `layer ${i} SSM state`));
          a.forEach((layer, i) => assertClose(b[i].conv, layer.conv, TOLERANCE, `layer ${i} conv state`));
        }
        // The next code gives the same logits from either state.
        const next = [7, 9];
        assertClose(await split.step(next), await whole.step(next), TOLERANCE, 'logits of the next code');
      } finally {
        whole.destroy();
        split.destroy();
      }
    });
  }
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamba-audio-generate-prompt-'));
  const config = resolveConfig({ dModel: 8, nLayers: 2, dState: 4, expand: 2 });
  writeFileSync(join(dir, 'tiny.safetensors'), encodeCheckpoint({ config, params: initParameters(config, 4) }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('generate says when it steps through the prompt', () => {
  // Sixteen streams of a 0.5 s prompt make 128,000 rows, over the 65,536 that one forward takes.
  const args = ['generate', '--model', join(dir, 'tiny.safetensors'), '--prompt', CLIP, '--prompt-seconds', '0.5', '--seconds', '0.01', '--streams', '16', '--out', join(dir, 'split.wav')];
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /prompt: the first 0\.26 s run through one parallel forward, the longest one forward may take here, and the last 0\.24 s step by step/);
});
