// Training and generation must never disagree: the recurrent generator, teacher-forced,
// reproduces the parallel forward's logits at every position, and a prefill by the
// parallel scan followed by recurrent steps equals the full forward.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

// First, because it installs Dawn's WebGPU globals, which the generator module reads on load.
import { gpuTest } from '../support/gpu';
import { createGenerator } from '../../gpu/generate/generator';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { MambaLM } from '../../gpu/model/lm';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';

const config = resolveConfig({ vocabSize: 256, dModel: 16, nLayers: 2, dState: 8, selective: [true, false] });
const params = initParameters(config, 21);
const TOLERANCE = { rtol: 1e-3, atol: 1e-4 };

function randomCodes(rng: Rng, count: number): Uint32Array {
  return Uint32Array.from({ length: count }, () => rng.integer(256));
}

describe('step equals forward', () => {
  for (const B of [1, 3]) {
    gpuTest(`teacher-forced steps match the parallel forward, B=${B}`, async (ctx) => {
      const rng = new Rng(B);
      const model = new MambaLM(ctx, config, params);
      const generator = createGenerator(ctx, config, params, { batch: B });
      for (const L of [1, 2, 3, 31, 64]) {
        const codes = randomCodes(rng, L * B);
        model.encodeForward(codes, B);
        const expected = await model.readLogits();
        generator.reset();
        const stepped = await generator.step(codes);
        assertClose(stepped, expected, TOLERANCE, `logits L=${L} B=${B}`);
      }
      generator.destroy();
      model.destroy();
    });
  }

  gpuTest('teacher-forced steps match the parallel forward, L=4096', async (ctx) => {
    const codes = randomCodes(new Rng(4096), 4096);
    const model = new MambaLM(ctx, config, params);
    const generator = createGenerator(ctx, config, params, { batch: 1 });
    model.encodeForward(codes, 1);
    const expected = await model.readLogits();
    generator.reset();
    assertClose(await generator.step(codes), expected, TOLERANCE, 'logits L=4096');
    generator.destroy();
    model.destroy();
  });

  gpuTest('prefill then step equals the full forward', async (ctx) => {
    const B = 2;
    const L = 300;
    const P = 257;
    const codes = randomCodes(new Rng(300), L * B);
    const model = new MambaLM(ctx, config, params);
    model.encodeForward(codes, B);
    const full = await model.readLogits();

    const { states, lastLogits } = await model.prefill(codes.subarray(0, P * B), B);
    assertClose(lastLogits, full.subarray((P - 1) * B * 256, P * B * 256), TOLERANCE, 'prefill last logits');
    const generator = createGenerator(ctx, config, params, { batch: B });
    generator.setState(states);
    const rest = await generator.step(codes.subarray(P * B));
    assertClose(rest, full.subarray(P * B * 256), TOLERANCE, 'steps after prefill');

    // The states after prefill equal those after stepping through the prompt.
    generator.reset();
    await generator.step(codes.subarray(0, P * B));
    const stepped = await generator.getState();
    for (let layer = 0; layer < config.nLayers; layer++) {
      assertClose(states[layer].ssm, stepped[layer].ssm, TOLERANCE, `layer ${layer} SSM state`);
      assertClose(states[layer].conv, stepped[layer].conv, { rtol: 1e-5, atol: 1e-6 }, `layer ${layer} conv state`);
    }
    assert.equal(states.length, config.nLayers);
    generator.destroy();
    model.destroy();
  });
});
