// Benchmark of recurrent generation: the GPU generator against the TypeScript reference
// generator (gpu/reference/step.ts) on the same random model, in samples per second, at
// several batch sizes. Prints a block of markdown table rows for docs/benchmarks.md.
//
//   node --import ./scripts/register.mjs gpu/bench/generate-bench.ts
//       [--batches 1,8,32] [--seconds 4] [--repeats 3] [--chunk 1024] [--reference-steps 200]
//       [--streams S] [--no-subgroups] [--traces]
//
// Default model: D = 64, 8 layers, N = 16, E = 2, R = 4, K = 4, V = 256, random weights.
// Each GPU run generates about --seconds of work; the table gives the best run and the
// spread (min..max) over --repeats runs, because the project's machines are shared. The
// first dispatch of each kernel variant includes compiling it; the "compile" column times a
// warm-up dispatch (set MESA_SHADER_CACHE_DISABLE=true to time a cold compile).
import { cpus, loadavg } from 'node:os';

import type { GpuContext } from '../context';
import { createGenerator } from '../generate/generator';
import { resolveConfig, type ModelConfig } from '../model/config';
import { initParameters } from '../model/init';
import { createNodeContext } from '../node';
import { ReferenceGenerator } from '../reference/step';

const SAMPLE_RATE_HZ = 16000;

interface BenchOptions {
  batches: number[];
  seconds: number;
  repeats: number;
  chunk: number;
  referenceSteps: number;
  streams: number | undefined;
  subgroups: boolean;
  traces: boolean;
}

export interface GenerateBenchRow {
  batch: number;
  streamsPerWorkgroup: number;
  lanes: number;
  subgroups: boolean;
  compileMs: number;
  /** Total samples per second over all streams, per run. */
  gpuRates: number[];
  /** Samples per second of CPU time used by the whole process (GPU threads included), best run. */
  gpuRatePerCpuSecond: number;
  referenceRate: number;
}

function parseArgs(argv: string[]): BenchOptions {
  const value = (name: string, fallback: string): string => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 && argv[index + 1] !== undefined ? argv[index + 1] : fallback;
  };
  const positive = (name: string, fallback: string): number => {
    const parsed = Number(value(name, fallback));
    if (!(parsed > 0)) throw new Error(`--${name} ${value(name, fallback)} is not a positive number`);
    return parsed;
  };
  return {
    batches: value('batches', '1,8,32').split(',').map(Number),
    seconds: positive('seconds', '4'),
    repeats: positive('repeats', '3'),
    chunk: positive('chunk', '1024'),
    referenceSteps: positive('reference-steps', '200'),
    streams: argv.includes('--streams') ? positive('streams', '1') : undefined,
    subgroups: !argv.includes('--no-subgroups'),
    traces: argv.includes('--traces'),
  };
}

/** Samples per second (all streams) of the TypeScript reference generator. */
function referenceRate(config: ModelConfig, params: Map<string, Float32Array>, batch: number, steps: number): number {
  const reference = new ReferenceGenerator(config, params, batch);
  reference.generate({ samples: 2, temperature: 1, topP: 0.95, seed: 1 });
  const started = performance.now();
  reference.generate({ samples: steps, temperature: 1, topP: 0.95, seed: 1 });
  return (steps * batch) / ((performance.now() - started) / 1000);
}

export async function benchGenerate(ctx: GpuContext, config: ModelConfig, options: BenchOptions): Promise<GenerateBenchRow[]> {
  const params = initParameters(config, 1234);
  const rows: GenerateBenchRow[] = [];
  for (const batch of options.batches) {
    const generator = createGenerator(ctx, config, params, { batch, subgroups: options.subgroups, streamsPerWorkgroup: options.streams });
    try {
      const compileMs = await generator.warmUp({ traces: options.traces });
      const sampling = { temperature: 1, topP: 0.95, seed: 7, chunkSamples: options.chunk, traces: options.traces, onChunk: () => {} };
      // Calibrates the dispatch pacer, then sizes the runs to about options.seconds each.
      const probeSamples = 64;
      const probeStarted = performance.now();
      await generator.generate({ ...sampling, samples: probeSamples });
      const probeRate = probeSamples / ((performance.now() - probeStarted) / 1000);
      const samples = Math.max(256, Math.round(probeRate * options.seconds));

      const gpuRates: number[] = [];
      let gpuRatePerCpuSecond = 0;
      for (let run = 0; run < options.repeats; run++) {
        generator.reset();
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await generator.generate({ ...sampling, samples });
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        gpuRates.push((samples * batch) / seconds);
        gpuRatePerCpuSecond = Math.max(gpuRatePerCpuSecond, (samples * batch) / ((cpu.user + cpu.system) / 1e6));
      }
      const reference = referenceRate(config, params, batch, Math.max(4, Math.round(options.referenceSteps / Math.sqrt(batch))));
      rows.push({
        batch,
        streamsPerWorkgroup: generator.info.streamsPerWorkgroup,
        lanes: generator.info.lanes,
        subgroups: generator.info.subgroups,
        compileMs,
        gpuRates,
        gpuRatePerCpuSecond,
        referenceRate: reference,
      });
    } finally {
      generator.destroy();
    }
  }
  return rows;
}

function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
}

/** Markdown rows: one per batch size. */
export function markdownRows(rows: GenerateBenchRow[], adapter: string, config: ModelConfig, traces: boolean): string {
  const date = new Date().toISOString().slice(0, 10);
  const model = `D=${config.dModel} L=${config.nLayers} N=${config.dState} E=${config.expand} R=${config.dtRank} K=${config.dConv} V=${config.vocabSize}`;
  const header = [
    '| date | adapter | model | B | W x S | GPU samples/s, best (min..max) | per stream | real-time factor per stream | samples per CPU-second | TS reference samples/s | speed-up | compile s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const lines = rows.map((row) => {
    const best = Math.max(...row.gpuRates);
    const spread = `${formatRate(Math.min(...row.gpuRates))}..${formatRate(best)}`;
    const perStream = best / row.batch;
    const variant = `${row.lanes} x ${row.streamsPerWorkgroup}${row.subgroups ? '' : ', no subgroups'}${traces ? ', traces' : ''}`;
    return (
      `| ${date} | ${adapter} | ${model} | ${row.batch} | ${variant} | ${formatRate(best)} (${spread}) | ${formatRate(perStream)} | ` +
      `${(perStream / SAMPLE_RATE_HZ).toFixed(3)} | ${formatRate(row.gpuRatePerCpuSecond)} | ${formatRate(row.referenceRate)} | ` +
      `${(best / row.referenceRate).toFixed(1)}x | ${(row.compileMs / 1000).toFixed(1)} |`
    );
  });
  return [...header, ...lines].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const config = resolveConfig({ dModel: 64, nLayers: 8, dState: 16, expand: 2, dtRank: 4, dConv: 4 });
  const ctx = await createNodeContext({ label: 'generate bench' });
  try {
    const loadBefore = loadavg()[0];
    console.log(`adapter: ${ctx.info.adapterName} (${ctx.info.mode}); ${cpus().length} CPUs; load average ${loadBefore.toFixed(2)}`);
    const rows = await benchGenerate(ctx, config, options);
    for (const row of rows) {
      const rates = row.gpuRates.map(formatRate).join(', ');
      console.log(`B=${row.batch}: GPU ${rates} samples/s; reference ${formatRate(row.referenceRate)} samples/s; compile ${row.compileMs.toFixed(0)} ms`);
    }
    console.log(`load average after: ${loadavg()[0].toFixed(2)}\n`);
    const adapter = ctx.info.adapterName.replace(/\s*\(LLVM.*$/, '');
    console.log(markdownRows(rows, adapter, config, options.traces));
  } finally {
    ctx.destroy();
  }
}

await main();
