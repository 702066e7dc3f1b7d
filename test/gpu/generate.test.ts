// The GPU generator against the CPU step reference: teacher-forced logits, sampling
// (determinism, greedy, the top-p nucleus), abort, flat memory, state round trips, traces,
// and the variant without subgroups.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import type { GpuContext } from '../../gpu/context';
import { createGenerator, type CodeArray, type ChunkTraces, type Generator, type GeneratorOptions } from '../../gpu/generate/generator';
import { sampleLogits, sampleUniform } from '../../gpu/generate/sampler';
import { resolveConfig, type ModelConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { createLayerStates, ReferenceGenerator, type BlockTrace, type LayerState } from '../../gpu/reference/step';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

const LOGITS = { rtol: 1e-4, atol: 1e-5 };

/** Two selective layers around a non-selective one, small enough to compile in seconds. */
const config: ModelConfig = resolveConfig({
  dModel: 16,
  nLayers: 3,
  dState: 8,
  dtRank: 2,
  selective: [true, false, true],
  encoding: 'tokens',
  vocabSize: 32,
});
const params = initParameters(config, 5);
const V = config.vocabSize;

/** Runs `body` with a new generator, one stream per workgroup unless asked, so most tests share one compiled kernel. */
async function withGenerator(ctx: GpuContext, options: GeneratorOptions, body: (generator: Generator) => Promise<void>): Promise<void> {
  const generator = createGenerator(ctx, config, params, { streamsPerWorkgroup: 1, ...options });
  try {
    await body(generator);
  } finally {
    generator.destroy();
  }
}

function randomCodes(count: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => rng.integer(V));
}

/** Returns the CPU reference's logits (L, B, V) for codes (L, B). */
function referenceLogits(codes: number[], batch: number, reference = new ReferenceGenerator(config, params, batch)): Float32Array {
  const L = codes.length / batch;
  const logits = new Float32Array(L * batch * V);
  for (let t = 0; t < L; t++) logits.set(reference.step(codes.slice(t * batch, (t + 1) * batch)), t * batch * V);
  return logits;
}

/** Runs generate() and returns the codes time-major (samples, B), with traces if asked. */
async function generateAll(
  generator: Generator,
  options: { samples: number; temperature: number; topP: number; seed: number; chunkSamples: number; traces?: boolean },
): Promise<{ codes: number[]; chunks: number; traces: ChunkTraces[] }> {
  const B = generator.batch;
  const codes = new Array<number>(options.samples * B);
  const traces: ChunkTraces[] = [];
  let chunks = 0;
  const result = await generator.generate({
    ...options,
    onChunk: (perStream: CodeArray[], start: number, chunkTraces?: ChunkTraces) => {
      chunks++;
      perStream.forEach((stream, b) => stream.forEach((code, t) => (codes[(start + t) * B + b] = code)));
      if (chunkTraces) traces.push(chunkTraces);
    },
  });
  assert.deepEqual(result, { samples: options.samples, aborted: false });
  return { codes, chunks, traces };
}

/** Zero states with crafted pending logits for every stream. */
function withLogits(generator: Generator, row: number[]): void {
  const logits = new Float32Array(generator.batch * V);
  for (let b = 0; b < generator.batch; b++) logits.set(row, b * V);
  generator.setState(createLayerStates(config, generator.batch), { logits });
}

describe('generator step matches the CPU reference', () => {
  for (const batch of [1, 3]) {
    gpuTest(`B=${batch}, L in 1, 2, 3, 31, 64`, async (ctx) => {
      await withGenerator(ctx, { batch }, async (generator) => {
        for (const L of [1, 2, 3, 31, 64]) {
          generator.reset();
          const codes = randomCodes(L * batch, L);
          const logits = await generator.step(codes);
          assertClose(logits, referenceLogits(codes, batch), LOGITS, `B=${batch} L=${L} logits`);
        }
      });
    });
  }

  gpuTest('dispatch boundaries and repeated calls', async (ctx) => {
    await withGenerator(ctx, { batch: 2, maxStepsPerDispatch: 7 }, async (generator) => {
      const codes = randomCodes(2 * 40, 9);
      const reference = new ReferenceGenerator(config, params, 2);
      // Two calls continue one sequence: the states carry over between them.
      const first = await generator.step(codes.slice(0, 2 * 25));
      const second = await generator.step(codes.slice(2 * 25));
      assertClose(first, referenceLogits(codes.slice(0, 2 * 25), 2, reference), LOGITS, 'first call');
      assertClose(second, referenceLogits(codes.slice(2 * 25), 2, reference), LOGITS, 'second call');
    });
  });

  gpuTest('several streams per workgroup', async (ctx) => {
    await withGenerator(ctx, { batch: 4, streamsPerWorkgroup: 2 }, async (generator) => {
      assert.equal(generator.info.streamsPerWorkgroup, 2);
      const codes = randomCodes(4 * 20, 4);
      assertClose(await generator.step(codes), referenceLogits(codes, 4), LOGITS, 'S=2 logits');
      generator.reset();
      const options = { samples: 30, temperature: 1, topP: 0.9, seed: 2 };
      const sampled = await generateAll(generator, { ...options, chunkSamples: 30 });
      assert.deepEqual(sampled.codes, Array.from(new ReferenceGenerator(config, params, 4).generate(options)));
    });
  });

  gpuTest('dispatches stay under the loop limit', async (ctx) => {
    // Mesa's OpenGL ES path stops an invocation's loops after 65,535 iterations in all.
    for (const subgroups of [true, false]) {
      await withGenerator(ctx, { batch: 1, subgroups, maxStepsPerDispatch: 1_000_000 }, async (generator) => {
        const { maxStepsPerDispatch, loopIterationsPerStep } = generator.info;
        assert.ok(maxStepsPerDispatch * loopIterationsPerStep < 65535, `${maxStepsPerDispatch} steps x ${loopIterationsPerStep} iterations`);
        assert.ok(maxStepsPerDispatch >= 100, `only ${maxStepsPerDispatch} steps per dispatch`);
      });
    }
  });

  gpuTest('rejects a model width not divisible by 4', async (ctx) => {
    const odd = resolveConfig({ dModel: 18, nLayers: 1, dState: 4, encoding: 'tokens', vocabSize: 8 });
    assert.throws(() => createGenerator(ctx, odd, initParameters(odd, 1), { batch: 1 }), /dModel = 18 is not a multiple of 4/);
  });

  gpuTest('rejects codes outside the vocabulary', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      await assert.rejects(generator.step([1, V]), /code 32 at index 1 is outside 0\.\.31/);
      await assert.rejects(generator.step([1, 2, 3]), /3 codes is not a positive multiple of the batch of 2/);
    });
  });
});

describe('generator sampling', () => {
  gpuTest('same seed gives the same codes for any chunk size', async (ctx) => {
    await withGenerator(ctx, { batch: 3 }, async (generator) => {
      const options = { samples: 90, temperature: 1, topP: 0.9, seed: 3 };
      const whole = await generateAll(generator, { ...options, chunkSamples: 90 });
      generator.reset();
      const sevens = await generateAll(generator, { ...options, chunkSamples: 7 });
      generator.reset();
      const ones = await generateAll(generator, { ...options, chunkSamples: 1 });
      assert.equal(sevens.chunks, 13);
      assert.equal(ones.chunks, 90);
      assert.deepEqual(sevens.codes, whole.codes);
      assert.deepEqual(ones.codes, whole.codes);
      generator.reset();
      const other = await generateAll(generator, { ...options, seed: 4, chunkSamples: 90 });
      assert.notDeepEqual(other.codes, whole.codes);
    });
  });

  gpuTest('sampled codes follow the CPU reference generator', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      const options = { samples: 40, temperature: 0.8, topP: 0.9, seed: 21 };
      const gpu = await generateAll(generator, { ...options, chunkSamples: 16 });
      const cpu = new ReferenceGenerator(config, params, 2).generate(options);
      assert.deepEqual(gpu.codes, Array.from(cpu));
    });
  });

  gpuTest('greedy picks the argmax, lowest index on ties', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      const row = Array.from({ length: V }, (_, v) => (v === 5 || v === 9 ? 3 : v % 3));
      withLogits(generator, row);
      const { codes } = await generateAll(generator, { samples: 1, temperature: 0, topP: 1, seed: 0, chunkSamples: 1 });
      assert.deepEqual(codes, [5, 5]);

      // Greedy generation feeds back the argmax of each step, as the CPU reference does.
      generator.reset();
      const options = { samples: 25, temperature: 0, topP: 1, seed: 0 };
      const gpu = await generateAll(generator, { ...options, chunkSamples: 10 });
      assert.deepEqual(gpu.codes, Array.from(new ReferenceGenerator(config, params, 2).generate(options)));
    });
  });

  gpuTest('top-p keeps only the nucleus', async (ctx) => {
    await withGenerator(ctx, { batch: 64 }, async (generator) => {
      // Probabilities 8/16, 4/16, 2/16, 1/16, 1/16 and nearly nothing elsewhere.
      const row = Array.from({ length: V }, (_, v) => [Math.log(8), Math.log(4), Math.log(2), 0, 0][v] ?? -30);
      const cases: Array<{ topP: number; nucleus: number[] }> = [
        { topP: 0.4, nucleus: [0] },
        { topP: 0.7, nucleus: [0, 1] },
        { topP: 0.8, nucleus: [0, 1, 2] },
        { topP: 0.9, nucleus: [0, 1, 2, 3, 4] },
      ];
      for (const { topP, nucleus } of cases) {
        withLogits(generator, row);
        const seed = Math.round(topP * 100);
        const { codes } = await generateAll(generator, { samples: 1, temperature: 1, topP, seed, chunkSamples: 1 });
        for (const code of codes) assert.ok(nucleus.includes(code), `topP ${topP}: code ${code} outside the nucleus ${nucleus}`);
        for (const code of nucleus) assert.ok(codes.includes(code), `topP ${topP}: class ${code} of the nucleus never drawn in 64 streams`);
        codes.forEach((code, b) => {
          const expected = sampleLogits(row, { temperature: 1, topP }, sampleUniform(seed, b, 0));
          assert.equal(code, expected, `topP ${topP}, stream ${b}`);
        });
      }
    });
  });

  gpuTest('rejects invalid sampling options', async (ctx) => {
    await withGenerator(ctx, { batch: 1 }, async (generator) => {
      const base = { samples: 4, temperature: 1, topP: 0.9, seed: 1, chunkSamples: 4, onChunk: () => {} };
      await assert.rejects(generator.generate({ ...base, topP: 0 }), /topP = 0; use a value in \(0, 1\]/);
      await assert.rejects(generator.generate({ ...base, temperature: -1 }), /temperature = -1/);
      await assert.rejects(generator.generate({ ...base, chunkSamples: 0 }), /chunkSamples = 0/);
    });
  });
});

describe('generator runs', () => {
  gpuTest('abort stops generation and keeps the state consistent', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      const controller = new AbortController();
      const codes: number[] = [];
      const result = await generator.generate({
        samples: 5000,
        temperature: 1,
        topP: 1,
        seed: 8,
        chunkSamples: 16,
        signal: controller.signal,
        onChunk: (perStream, start) => {
          for (let t = 0; t < perStream[0].length; t++) codes.push(perStream[0][t], perStream[1][t]);
          assert.equal(start * 2, codes.length - 2 * perStream[0].length);
          if (start >= 32) controller.abort();
        },
      });
      assert.equal(result.aborted, true);
      // The chunk at 32 is handed over while the first dispatch of the chunk at 48 runs.
      // That dispatch, at most 16 steps, is the last one.
      assert.ok(result.samples <= 64, `${result.samples} samples after the abort at sample 48`);
      assert.equal(codes.length, 2 * result.samples, 'every generated sample was delivered');

      // The state is the one the delivered codes lead to.
      const reference = new ReferenceGenerator(config, params, 2);
      reference.step([V / 2, V / 2]);
      for (let t = 0; t < result.samples; t++) reference.step(codes.slice(2 * t, 2 * t + 2));
      const state = await generator.getState();
      state.forEach((layer, i) => {
        assertClose(layer.ssm, reference.states[i].ssm, LOGITS, `layer ${i} SSM state`);
        assertClose(layer.conv, reference.states[i].conv, LOGITS, `layer ${i} conv state`);
      });

      const before = await generator.generate({ samples: 10, temperature: 1, topP: 1, seed: 1, chunkSamples: 5, signal: AbortSignal.abort(), onChunk: () => assert.fail('no chunk after an abort') });
      assert.deepEqual(before, { samples: 0, aborted: true });
    });
  });

  gpuTest('memory stays flat over many chunks', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      const options = { temperature: 1, topP: 0.95, seed: 5, chunkSamples: 8 };
      await generateAll(generator, { ...options, samples: 16 });
      const before = ctx.memoryStats();
      const { chunks } = await generateAll(generator, { ...options, samples: 400 });
      assert.equal(chunks, 50);
      assert.deepEqual(ctx.memoryStats(), before);
      await generateAll(generator, { ...options, samples: 64 });
      assert.deepEqual(ctx.memoryStats(), before);
    });
  });

  gpuTest('state set and get round trip', async (ctx) => {
    await withGenerator(ctx, { batch: 3 }, async (generator) => {
      const rng = new Rng(17);
      const states: LayerState[] = createLayerStates(config, 3).map((layer) => ({
        conv: rng.normalArray(layer.conv.length),
        ssm: rng.normalArray(layer.ssm.length),
      }));
      generator.setState(states);
      const read = await generator.getState();
      read.forEach((layer, i) => {
        assert.deepEqual(layer.conv, states[i].conv, `layer ${i} conv`);
        assert.deepEqual(layer.ssm, states[i].ssm, `layer ${i} SSM`);
      });

      // A prefill computed elsewhere (here the CPU reference) continues on the GPU.
      const reference = new ReferenceGenerator(config, params, 3);
      const prompt = randomCodes(3 * 12, 3);
      referenceLogits(prompt, 3, reference);
      generator.setState(reference.states, { logits: reference.pendingLogits! });
      const next = randomCodes(3 * 6, 6);
      assertClose(await generator.step(next), referenceLogits(next, 3, reference), LOGITS, 'logits after setState');

      assert.throws(() => generator.setState(states.slice(1)), /2 layer states for a model of 3 layers/);
    });
  });

  gpuTest('traces match the CPU reference', async (ctx) => {
    await withGenerator(ctx, { batch: 2 }, async (generator) => {
      const { codes, traces } = await generateAll(generator, { samples: 20, temperature: 1, topP: 0.95, seed: 6, chunkSamples: 8, traces: true });
      assert.equal(traces.length, 3);
      const DI = 2 * config.dModel;
      const reference = new ReferenceGenerator(config, params, 2);
      reference.step([V / 2, V / 2]);
      for (let t = 0; t < 20; t++) {
        const blockTraces: BlockTrace[] = Array.from({ length: config.nLayers }, () => ({
          delta: new Float32Array(2 * DI),
          gate: new Float32Array(2 * DI),
          stateNorm: new Float32Array(2 * DI),
        }));
        reference.step(codes.slice(2 * t, 2 * t + 2), blockTraces);
        const chunk = traces[Math.floor(t / 8)];
        const offset = (t % 8) * 2 * DI;
        for (let layer = 0; layer < config.nLayers; layer++) {
          for (const kind of ['delta', 'gate', 'stateNorm'] as const) {
            const gpu = chunk[kind][layer].subarray(offset, offset + 2 * DI);
            assertClose(gpu, blockTraces[layer][kind], LOGITS, `sample ${t} layer ${layer} ${kind}`);
          }
        }
      }
    });
  });
});

describe('generator without subgroups', () => {
  gpuTest('step and greedy generation match the CPU reference', async (ctx) => {
    await withGenerator(ctx, { batch: 3, subgroups: false }, async (generator) => {
      assert.equal(generator.info.subgroups, false);
      const codes = randomCodes(3 * 31, 31);
      assertClose(await generator.step(codes), referenceLogits(codes, 3), LOGITS, 'logits');
      generator.reset();
      const options = { samples: 12, temperature: 0, topP: 1, seed: 0 };
      const gpu = await generateAll(generator, { ...options, chunkSamples: 5 });
      assert.deepEqual(gpu.codes, Array.from(new ReferenceGenerator(config, params, 3).generate(options)));
    });
  });
});
