// Selectivity traces of a U-Net on the GPU: the parallel forward's traces of every block at
// every level against the CPU reference, and the generator's traces against the CPU step
// reference fed the same codes.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import type { ChunkTraces, CodeArray } from '../../gpu/generate/generator';
import { SashimiGenerator } from '../../gpu/generate/sashimi-generator';
import { initParameters } from '../../gpu/model/init';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { ReferenceSashimiGenerator, sashimiTracesRef, type SashimiStepTraces } from '../../gpu/reference/sashimi';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { tinySashimiConfig } from '../support/sashimi';

const config = tinySashimiConfig();
const params = initParameters(config, 29);
const V = config.vocabSize;
const KINDS = ['delta', 'gate', 'stateNorm'] as const;
const TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

describe('SaShiMi traces', () => {
  gpuTest('forward traces match the CPU reference', async (ctx) => {
    const rng = new Rng(5);
    const model = new SashimiLM(ctx, config, params);
    for (const [B, L] of [[1, 8], [3, 16]]) {
      const codes = Uint32Array.from({ length: L * B }, () => rng.integer(V));
      const gpu = await model.inspect(codes, B);
      const cpu = sashimiTracesRef(config, params, codes, B);
      assert.equal(gpu.length, config.nLayers, 'one trace set per block');
      assert.deepEqual(gpu.map((trace) => trace.stride), [1, 2, 4, 2, 1], 'strides in forward order');
      for (let i = 0; i < cpu.length; i++) {
        assert.equal(gpu[i].channels, cpu[i].channels, `block ${i} channels`);
        for (const kind of KINDS) assertClose(gpu[i][kind], cpu[i][kind], TOLERANCE, `B=${B} L=${L} block ${i} ${kind}`);
      }
    }
    model.destroy();
  });

  gpuTest('generation traces match the CPU steps', async (ctx) => {
    const B = 2;
    const samples = 11;
    const generator = new SashimiGenerator(ctx, config, params, B);
    const codes = new Array<number>(samples * B);
    const chunks: Array<{ start: number; traces: ChunkTraces }> = [];
    await generator.generate({
      samples,
      temperature: 1,
      topP: 1,
      seed: 9,
      chunkSamples: 4,
      traces: true,
      onChunk: (perStream: CodeArray[], start: number, traces?: ChunkTraces) => {
        perStream.forEach((stream, b) => stream.forEach((code, t) => (codes[(start + t) * B + b] = code)));
        assert.ok(traces, `chunk at ${start} has traces`);
        chunks.push({ start, traces });
      },
    });
    assert.equal(chunks.length, 3);

    // The CPU generator feeds the start code, then the GPU's samples, recording each block's steps.
    const reference = new ReferenceSashimiGenerator(config, params, B);
    reference.step(new Array(B).fill(V / 2));
    const steps: SashimiStepTraces = Array.from({ length: config.nLayers }, () => []);
    const stepSamples: number[][] = Array.from({ length: config.nLayers }, () => []);
    for (let t = 0; t < samples; t++) {
      const counts = steps.map((list) => list.length);
      reference.step(codes.slice(t * B, (t + 1) * B), steps);
      steps.forEach((list, block) => {
        if (list.length > counts[block]) stepSamples[block].push(t);
      });
    }

    for (let block = 0; block < config.nLayers; block++) {
      const gpuSamples = chunks.flatMap(({ start, traces }) => Array.from(traces.stepSamples![block], (t) => start + t));
      assert.deepEqual(gpuSamples, stepSamples[block], `block ${block} step samples`);
      for (const kind of KINDS) {
        const gpu = chunks.flatMap(({ traces }) => Array.from(traces[kind][block]));
        const cpu = steps[block].flatMap((trace) => Array.from(trace[kind]));
        assertClose(gpu, cpu, TOLERANCE, `block ${block} ${kind}`);
      }
    }
    generator.destroy();
  });

  gpuTest('traces off allocate nothing', async (ctx) => {
    const generator = new SashimiGenerator(ctx, config, params, 1);
    const run = async (traces: boolean) => {
      let delivered = 0;
      await generator.generate({
        samples: 6,
        temperature: 1,
        topP: 1,
        seed: 2,
        chunkSamples: 3,
        traces,
        onChunk: (_codes, _start, chunkTraces) => {
          delivered++;
          assert.equal(chunkTraces === undefined, !traces, `traces ${traces}: chunk traces ${chunkTraces === undefined ? 'missing' : 'present'}`);
        },
      });
      assert.equal(delivered, 2);
      return ctx.memoryStats().buffers;
    };
    const untraced = await run(false);
    assert.equal(await run(false), untraced, 'a second run without traces allocates nothing');
    assert.ok((await run(true)) > untraced, 'traces allocate their buffers on first use');
    generator.destroy();
  });

  gpuTest('switching traces on and off continues the same state', async (ctx) => {
    // With traces, blocks run as separate kernels; without, as fused stage kernels on the same state.
    const generator = new SashimiGenerator(ctx, config, params, 2);
    const codesOf = async (samples: number, traces: boolean) => {
      const codes: number[] = [];
      await generator.generate({ samples, temperature: 1, topP: 0.9, seed: 6, chunkSamples: 7, traces, onChunk: (perStream) => void codes.push(...perStream[0], ...perStream[1]) });
      return codes;
    };
    const plain = await codesOf(21, false);
    generator.reset();
    const mixed = [...(await codesOf(7, true)), ...(await codesOf(7, false)), ...(await codesOf(7, true))];
    generator.reset();
    const traced = await codesOf(21, true);
    // Each call numbers its draws from the samples generated since reset(), so the three calls continue one sequence.
    assert.deepEqual(traced, plain);
    assert.deepEqual(mixed, plain);
    generator.destroy();
  });
});
