// Prefill of a U-Net on the GPU: the parallel forward over a prompt, captured into the
// generator's state, must equal stepping the generator through the prompt, for prompt
// lengths on and off the pool grid, and generation must continue identically.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import type { CodeArray } from '../../gpu/generate/generator';
import { SashimiGenerator } from '../../gpu/generate/sashimi-generator';
import { initParameters } from '../../gpu/model/init';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { sashimiPrefillRef } from '../../gpu/reference/sashimi';
import { Rng } from '../../gpu/util/rng';
import { assertClose, type Tolerance } from '../support/compare';
import { assertSameState, tinySashimiConfig } from '../support/sashimi';

// Pool product 6, so that the prompt lengths below end inside a group at level 0, at level 1, or both.
const config = tinySashimiConfig([2, 3]);
const params = initParameters(config, 23);
const V = config.vocabSize;
const TOLERANCE: Tolerance = { rtol: 1e-4, atol: 1e-4 };
const PROMPT_LENGTHS = [1, 5, 6, 7, 16, 41];


async function generateCodes(generator: SashimiGenerator, seed: number): Promise<number[]> {
  const B = generator.batch;
  const samples = 14;
  const codes = new Array<number>(samples * B);
  await generator.generate({
    samples,
    temperature: 1,
    topP: 0.95,
    seed,
    chunkSamples: 5,
    onChunk: (perStream: CodeArray[], start: number) => perStream.forEach((stream, b) => stream.forEach((code, t) => (codes[(start + t) * B + b] = code))),
  });
  return codes;
}

describe('SaShiMi prefill', () => {
  for (const B of [1, 3]) {
    gpuTest(`equals stepping the prompt, B=${B}`, async (ctx) => {
      const rng = new Rng(40 + B);
      const model = new SashimiLM(ctx, config, params);
      const generator = new SashimiGenerator(ctx, config, params, B);
      for (const L of PROMPT_LENGTHS) {
        const codes = Uint32Array.from({ length: L * B }, () => rng.integer(V));
        const { state, lastLogits } = await model.prefill(codes, B);

        generator.reset();
        const stepped = await generator.step(codes);
        assertSameState(state, await generator.getState(), TOLERANCE, `L=${L}`);
        assertClose(lastLogits, stepped.subarray((L - 1) * B * V), TOLERANCE, `L=${L} last logits`);

        // The next logits: one more code fed after the prefilled state and after the stepped one.
        const next = Uint32Array.from({ length: B }, () => rng.integer(V));
        const afterSteps = await generator.step(next);
        generator.setState(state);
        assertClose(await generator.step(next), afterSteps, TOLERANCE, `L=${L} logits after one more code`);

        // Generation with one seed from either state.
        generator.reset();
        await generator.step(codes);
        const fromSteps = await generateCodes(generator, L);
        generator.setState(state, { logits: lastLogits });
        assert.deepEqual(await generateCodes(generator, L), fromSteps, `L=${L} generated codes`);
      }
      generator.destroy();
      model.destroy();
    });
  }

  gpuTest('matches the CPU reference prefill', async (ctx) => {
    const B = 2;
    const L = 17;
    const codes = Uint32Array.from({ length: L * B }, (_, i) => (i * 7 + 3) % V);
    const model = new SashimiLM(ctx, config, params);
    const gpu = await model.prefill(codes, B);
    const cpu = sashimiPrefillRef(config, params, codes, B);
    assertSameState(gpu.state, cpu.state, TOLERANCE, 'GPU against CPU');
    assertClose(gpu.lastLogits, cpu.lastLogits, TOLERANCE, 'last logits');
    model.destroy();
  });

  gpuTest('rejects a state of another shape', async (ctx) => {
    const model = new SashimiLM(ctx, config, params);
    const { state } = await model.prefill(new Uint32Array(6), 1);
    const generator = new SashimiGenerator(ctx, config, params, 2);
    assert.throws(() => generator.setState(state), /block 0 conv state has \d+ values, expected \(B, DI, K\)/);
    assert.throws(() => generator.setState({ ...state, blocks: state.blocks.slice(1) }), /4 block states for a model of 5 blocks/);
    await assert.rejects(model.prefill(new Uint32Array(5), 2), /5 codes do not split into B = 2 streams/);
    generator.destroy();
    model.destroy();
  });
});
