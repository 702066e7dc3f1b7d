// The SaShiMi generator on the GPU: step against the parallel forward at every position,
// sampling against the CPU reference, seeds and chunking, abort, flat memory, and the
// factories choosing the backbone's classes.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { createBackboneGenerator } from '../../gpu/generate/backbone';
import { createGenerator, type CodeArray } from '../../gpu/generate/generator';
import { SashimiGenerator } from '../../gpu/generate/sashimi-generator';
import { StageKernel } from '../../gpu/generate/stage-kernel';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { createLanguageModel } from '../../gpu/model/language-model';
import { MambaLM } from '../../gpu/model/lm';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { ReferenceSashimiGenerator } from '../../gpu/reference/sashimi';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { tinySashimiConfig } from '../support/sashimi';

const config = tinySashimiConfig();
const params = initParameters(config, 17);
const V = config.vocabSize;

async function generateAll(generator: SashimiGenerator, options: { samples: number; temperature: number; topP: number; seed: number; chunkSamples: number }) {
  const B = generator.batch;
  const codes = new Array<number>(options.samples * B);
  let chunks = 0;
  const result = await generator.generate({
    ...options,
    onChunk: (perStream: CodeArray[], start: number) => {
      chunks++;
      perStream.forEach((stream, b) => stream.forEach((code, t) => (codes[(start + t) * B + b] = code)));
    },
  });
  assert.deepEqual(result, { samples: options.samples, aborted: false });
  return { codes, chunks };
}

describe('SaShiMi generator', () => {
  gpuTest('step equals the parallel forward at every position', async (ctx) => {
    const rng = new Rng(4);
    const model = new SashimiLM(ctx, config, params);
    for (const B of [1, 3]) {
      const generator = new SashimiGenerator(ctx, config, params, B);
      for (const L of [4, 64]) {
        const codes = Uint32Array.from({ length: L * B }, () => rng.integer(V));
        model.encodeForward(codes, B);
        const forward = await model.readLogits();
        generator.reset();
        assertClose(await generator.step(codes), forward, { rtol: 1e-4, atol: 1e-4 }, `B=${B} L=${L}`);
      }
      generator.destroy();
    }
    model.destroy();
  });

  gpuTest('fused stages of several blocks keep each block state apart', async (ctx) => {
    // Stages of 2 and 3 blocks put block states at several layer offsets of the stage kernels' buffers.
    const deep = resolveConfig({ ...config, nLayers: undefined, selective: undefined, dState: 8, sashimi: { pool: [2, 2], downBlocks: 2, centerBlocks: 3, upBlocks: 2 } });
    assert.equal(StageKernel.supports(deep), true);
    const deepParams = initParameters(deep, 9);
    const B = 2;
    const L = 22;
    const codes = Uint32Array.from({ length: L * B }, (_, i) => (i * 5 + 1) % V);
    const model = new SashimiLM(ctx, deep, deepParams);
    model.encodeForward(codes.subarray(0, 20 * B), B);
    const forward = await model.readLogits();
    const { state } = await model.prefill(codes, B);
    const generator = new SashimiGenerator(ctx, deep, deepParams, B);
    const stepped = await generator.step(codes);
    assertClose(stepped.subarray(0, 20 * B * V), forward, { rtol: 1e-4, atol: 1e-4 }, 'logits');
    const read = await generator.getState();
    state.blocks.forEach((block, i) => {
      assertClose(read.blocks[i].conv, block.conv, { rtol: 1e-4, atol: 1e-4 }, `block ${i} conv state`);
      assertClose(read.blocks[i].ssm, block.ssm, { rtol: 1e-4, atol: 1e-4 }, `block ${i} SSM state`);
    });
    generator.destroy();
    model.destroy();
  });

  gpuTest('fused top level with and without the head, and without pooling', async (ctx) => {
    // pool [] puts embedding, blocks and head in one kernel; 30 classes leave the head to separate kernels.
    for (const [what, input] of [
      ['no pooling', { pool: [] as number[], vocabSize: 32 }],
      ['30 classes', { pool: [2, 2], vocabSize: 30 }],
      ['no pooling, 30 classes', { pool: [] as number[], vocabSize: 30 }],
    ] as const) {
      const shaped = resolveConfig({ ...config, nLayers: undefined, selective: undefined, vocabSize: input.vocabSize, sashimi: { pool: [...input.pool], downBlocks: 1, centerBlocks: 2, upBlocks: 1 } });
      const shapedParams = initParameters(shaped, 11);
      const B = 2;
      const codes = Uint32Array.from({ length: 12 * B }, (_, i) => (i * 11 + 2) % input.vocabSize);
      const model = new SashimiLM(ctx, shaped, shapedParams);
      model.encodeForward(codes, B);
      const forward = await model.readLogits();
      const generator = new SashimiGenerator(ctx, shaped, shapedParams, B);
      assertClose(await generator.step(codes), forward, { rtol: 1e-4, atol: 1e-4 }, what);
      generator.destroy();
      model.destroy();
    }
  });

  gpuTest('per-kernel path equals the forward when N is not a multiple of 4', async (ctx) => {
    // dState 6 rules out the fused stage kernels, so every block runs as separate kernels.
    const odd = resolveConfig({ ...config, nLayers: undefined, selective: undefined, dState: 6 });
    assert.equal(StageKernel.supports(odd), false);
    const oddParams = initParameters(odd, 5);
    const codes = Uint32Array.from({ length: 16 * 2 }, (_, i) => (i * 7) % V);
    const model = new SashimiLM(ctx, odd, oddParams);
    model.encodeForward(codes, 2);
    const forward = await model.readLogits();
    const generator = new SashimiGenerator(ctx, odd, oddParams, 2);
    assertClose(await generator.step(codes), forward, { rtol: 1e-4, atol: 1e-4 }, 'dState 6');
    generator.destroy();
    model.destroy();
  });

  gpuTest('sampled codes follow the CPU reference generator', async (ctx) => {
    // 32 classes split into lanes, so a workgroup of lanes samples; 30 classes take the serial sampler.
    const odd = resolveConfig({ ...config, nLayers: undefined, selective: undefined, vocabSize: 30 });
    for (const [shape, shapeParams] of [
      [config, params],
      [odd, initParameters(odd, 17)],
    ] as const) {
      const generator = new SashimiGenerator(ctx, shape, shapeParams, 2);
      for (const options of [{ samples: 24, temperature: 0.8, topP: 0.9, seed: 21 }, { samples: 12, temperature: 0, topP: 1, seed: 0 }]) {
        generator.reset();
        const gpu = await generateAll(generator, { ...options, chunkSamples: 10 });
        const cpu = new ReferenceSashimiGenerator(shape, shapeParams, 2).generate(options);
        assert.deepEqual(gpu.codes, Array.from(cpu), `V ${shape.vocabSize}, temperature ${options.temperature}`);
      }
      generator.destroy();
    }
  });

  gpuTest('same seed gives the same codes for any chunk size', async (ctx) => {
    const generator = new SashimiGenerator(ctx, config, params, 3);
    const options = { samples: 40, temperature: 1, topP: 0.95, seed: 3 };
    const whole = await generateAll(generator, { ...options, chunkSamples: 40 });
    generator.reset();
    const fives = await generateAll(generator, { ...options, chunkSamples: 5 });
    assert.equal(fives.chunks, 8);
    assert.deepEqual(fives.codes, whole.codes);
    generator.reset();
    const other = await generateAll(generator, { ...options, seed: 4, chunkSamples: 40 });
    assert.notDeepEqual(other.codes, whole.codes);
    generator.destroy();
  });

  gpuTest('memory stays flat over many chunks', async (ctx) => {
    const generator = new SashimiGenerator(ctx, config, params, 2);
    const options = { temperature: 1, topP: 1, seed: 5, chunkSamples: 8 };
    await generateAll(generator, { ...options, samples: 16 });
    const before = ctx.memoryStats();
    const { chunks } = await generateAll(generator, { ...options, samples: 96 });
    assert.equal(chunks, 12);
    assert.deepEqual(ctx.memoryStats(), before);
    generator.destroy();
  });

  gpuTest('abort stops after the current submit', async (ctx) => {
    const generator = new SashimiGenerator(ctx, config, params, 1);
    const controller = new AbortController();
    let delivered = 0;
    const result = await generator.generate({
      samples: 100000,
      temperature: 1,
      topP: 1,
      seed: 8,
      chunkSamples: 8,
      signal: controller.signal,
      onChunk: (perStream) => {
        delivered += perStream[0].length;
        if (delivered >= 16) controller.abort();
      },
    });
    assert.equal(result.aborted, true);
    assert.equal(result.samples, 16);
    assert.equal(delivered, 16);
    generator.destroy();
  });

  gpuTest('rejects invalid input', async (ctx) => {
    const generator = new SashimiGenerator(ctx, config, params, 2);
    await assert.rejects(generator.step([1, 2, 3]), /3 codes is not a positive multiple of the batch of 2/);
    await assert.rejects(generator.step([1, V]), /code 32 at index 1 is outside 0\.\.31/);
    const base = { samples: 4, temperature: 1, topP: 0.9, seed: 1, chunkSamples: 4, onChunk: () => {} };
    await assert.rejects(generator.generate({ ...base, topP: 0 }), /topP = 0/);
    generator.destroy();
    await assert.rejects(generator.step([1, 2]), /destroy\(\) was called/);
  });
});

describe('backbone factories', () => {
  gpuTest('pick the class from the config', async (ctx) => {
    const flat = resolveConfig({ vocabSize: 32, encoding: 'tokens', dModel: 16, nLayers: 1, dState: 4 });
    const flatParams = initParameters(flat, 1);
    const models = [createLanguageModel(ctx, config, params), createLanguageModel(ctx, flat, flatParams)];
    assert.ok(models[0] instanceof SashimiLM);
    assert.ok(models[1] instanceof MambaLM);
    for (const model of models) model.destroy();
    const generator = createBackboneGenerator(ctx, config, params, { batch: 1 });
    assert.ok(generator instanceof SashimiGenerator);
    generator.destroy();
  });

  gpuTest('flat-only classes reject a U-Net', async (ctx) => {
    assert.throws(() => new MambaLM(ctx, config, params), /MambaLM supports only the flat backbone, and this model is a SaShiMi U-Net/);
    assert.throws(() => createGenerator(ctx, config, params, { batch: 1 }), /createGenerator \(the fused generation kernel\) supports only the flat backbone/);
  });
});
