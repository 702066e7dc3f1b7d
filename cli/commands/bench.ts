// `mamba-audio bench`: one run that measures the engine on this machine's WebGPU adapter:
// the selective scan against its TypeScript reference, training throughput and its growth
// with sequence length, and recurrent generation. --record writes the tables into
// docs/benchmarks.md under "Engine benchmarks".
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

import { writeFileAtomically } from '../../audio/node-file';
import { benchScan, type ScanBenchResult } from '../../gpu/bench/scan-bench';
import { timeReferenceForward, TrainBench } from '../../gpu/bench/train-bench';
import type { GpuContext } from '../../gpu/context';
import { createBackboneGenerator, type BackboneGenerator } from '../../gpu/generate/backbone';
import { createGenerator } from '../../gpu/generate/generator';
import { innerWidth, resolveConfig, type ConfigInput, type ModelConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import type { ScanShape } from '../../gpu/kernels/scan';
import { createNodeContext } from '../../gpu/node';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { formatMemory, runMemory, type MemoryReport, type MemoryTarget } from './bench-memory';

const SECTIONS = ['scan', 'train', 'generate', 'memory'] as const;
type Section = (typeof SECTIONS)[number];
/** Parts of a run without --only; memory takes minutes on its own and runs only when named. */
const DEFAULT_SECTIONS: readonly Section[] = ['scan', 'train', 'generate'];

export const BENCHMARKS_PATH = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
export const RECORD_HEADING = '## Engine benchmarks';

/** Sizes of one benchmark run. */
interface BenchPlan {
  scan: ScanShape;
  /** Model of the training and generation sections. */
  model: ConfigInput;
  /** Batch of the throughput measurement. */
  trainBatch: { B: number; L: number };
  /** Sequence lengths of the growth series, at batch 1. */
  growthLengths: number[];
  /** Length of the CPU reference forward, whose time is extrapolated per token. */
  referenceLength: number;
  generateBatches: number[];
  /** U-Net timed at batch 1 beside the flat model, with the same width, state size and expand. */
  unetModel: ConfigInput;
  /** Target wall time of each timed generation run, in seconds. */
  generateRunSec: number;
  /** How long the memory part generates. */
  memory: MemoryTarget;
  repeats: number;
}

const FLAT_MODEL: ConfigInput = { dModel: 64, nLayers: 8, dState: 16, expand: 2 };
/** The default U-Net config: pools [4, 4], width doubling, 2 blocks per stage (10 blocks). */
const UNET_MODEL: ConfigInput = { backbone: 'sashimi', dModel: 64, dState: 16, expand: 2 };

/**
 * Shape of the untimed step that compiles the training shaders. Pipelines are cached per
 * kernel and override constants, which depend on the model (the scan is specialised for N)
 * and not on B or L. A kernel that only larger shapes use (the matmul splits its k range
 * when summing over many rows) still compiles in the first timed run, and the median
 * absorbs that outlier.
 */
const WARM_UP_SHAPE = { B: 1, L: 256 };

const FULL_PLAN: BenchPlan = {
  scan: { B: 1, L: 16384, DI: 256, N: 16, G: 1 },
  model: FLAT_MODEL,
  trainBatch: { B: 4, L: 4096 },
  growthLengths: [4096, 16384, 65536],
  referenceLength: 512,
  generateBatches: [1, 8, 32],
  unetModel: UNET_MODEL,
  generateRunSec: 3,
  memory: { audioSeconds: 60, minutes: 10 },
  repeats: 3,
};

const QUICK_PLAN: BenchPlan = {
  scan: { B: 1, L: 1024, DI: 64, N: 16, G: 1 },
  model: { dModel: 16, nLayers: 2, dState: 16, expand: 2 },
  trainBatch: { B: 2, L: 256 },
  growthLengths: [256, 1024],
  referenceLength: 64,
  generateBatches: [1, 2],
  unetModel: { backbone: 'sashimi', dModel: 16, dState: 16, expand: 2, sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } },
  generateRunSec: 0.5,
  memory: { audioSeconds: 2, minutes: 0 },
  repeats: 2,
};

interface Stats {
  min: number;
  median: number;
  runs: number[];
}

function stats(runs: number[]): Stats {
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, runs };
}

interface ScanReport {
  shape: ScanShape;
  /** Wall seconds per pass. */
  gpuForwardSec: Stats;
  gpuBackwardSec: Stats;
  referenceForwardSec: Stats;
  referenceBackwardSec: Stats;
}

interface TrainReport {
  config: ModelConfig;
  batch: { B: number; L: number; stepSec: Stats; tokensPerSec: number; forwardSec: Stats; forwardTokensPerSec: number };
  /** One step per length at batch 1. */
  growth: Array<{ L: number; stepSec: number; tokensPerSec: number; usPerToken: number }>;
  /** CPU reference forward at a short length, whose tokensPerSec is extrapolated per token. */
  reference: { L: number; forwardSec: Stats; tokensPerSec: number };
}

type GenerateRun = { batch: number; samplesPerStream: number; sec: Stats; samplesPerSec: number; perStreamSamplesPerSec: number; realTimeFactorPerStream: number; compileSec: number };

interface GenerateReport {
  config: ModelConfig;
  sampleRateHz: number;
  runs: GenerateRun[];
  /** The U-Net at batch 1. */
  unet: { config: ModelConfig; run: GenerateRun };
}

export interface BenchReport {
  command: string;
  date: string;
  adapter: string;
  machine: { cpuCount: number; cpuModel: string; memoryGiB: number; node: string; loadAverageStart: number; loadAverageEnd: number };
  /** CPU seconds of this process (user and system, all threads, Dawn's and llvmpipe's included). */
  cpuSec: number;
  quick: boolean;
  repeats: number;
  totalSec: number;
  scan?: ScanReport;
  train?: TrainReport;
  generate?: GenerateReport;
  memory?: MemoryReport;
}

async function runScan(ctx: GpuContext, plan: BenchPlan, io: CliIo): Promise<ScanReport> {
  const results: ScanBenchResult[] = [];
  for (let run = 0; run < plan.repeats; run++) {
    io.stderr(`scan: run ${run + 1}/${plan.repeats} at L=${plan.scan.L} DI=${plan.scan.DI} N=${plan.scan.N}\n`);
    results.push(await benchScan(ctx, plan.scan, 1));
  }
  return {
    shape: plan.scan,
    gpuForwardSec: stats(results.map((r) => r.gpuForwardSec)),
    gpuBackwardSec: stats(results.map((r) => r.gpuBackwardSec)),
    referenceForwardSec: stats(results.map((r) => r.referenceForwardSec)),
    referenceBackwardSec: stats(results.map((r) => r.referenceBackwardSec)),
  };
}

async function runTrain(ctx: GpuContext, plan: BenchPlan, io: CliIo): Promise<TrainReport> {
  const config = resolveConfig(plan.model);
  const bench = new TrainBench(ctx, config);
  try {
    const { B, L } = plan.trainBatch;
    io.stderr(`train: warm-up step at B=${WARM_UP_SHAPE.B} L=${WARM_UP_SHAPE.L} (compiles the shaders)\n`);
    await bench.step(WARM_UP_SHAPE.B, WARM_UP_SHAPE.L);
    io.stderr(`train: ${plan.repeats} forward passes at B=${B} L=${L}\n`);
    const forwardRuns: number[] = [];
    for (let run = 0; run < plan.repeats; run++) forwardRuns.push(await bench.forward(B, L, run + 2));
    const stepRuns: number[] = [];
    for (let run = 0; run < plan.repeats; run++) {
      io.stderr(`train: step ${run + 1}/${plan.repeats} at B=${B} L=${L}\n`);
      stepRuns.push(await bench.step(B, L, run + 2));
    }

    const growth: TrainReport['growth'] = [];
    for (const length of plan.growthLengths) {
      io.stderr(`train: growth step at B=1 L=${length}\n`);
      const stepSec = await bench.step(1, length);
      growth.push({ L: length, stepSec, tokensPerSec: length / stepSec, usPerToken: (stepSec / length) * 1e6 });
    }

    io.stderr(`train: CPU reference forward at L=${plan.referenceLength}\n`);
    const referenceRuns: number[] = [];
    for (let run = 0; run < plan.repeats; run++) referenceRuns.push(timeReferenceForward(config, bench.params, plan.referenceLength, run + 1));
    const reference = stats(referenceRuns);

    const step = stats(stepRuns);
    const forward = stats(forwardRuns);
    return {
      config,
      batch: { B, L, stepSec: step, tokensPerSec: (B * L) / step.median, forwardSec: forward, forwardTokensPerSec: (B * L) / forward.median },
      growth,
      reference: { L: plan.referenceLength, forwardSec: reference, tokensPerSec: plan.referenceLength / reference.median },
    };
  } finally {
    bench.destroy();
  }
}

/**
 * Times generate() per batch size: a warm-up (compiles the kernel), a short probe that
 * sizes the timed runs to about plan.generateRunSec each, then plan.repeats timed runs.
 */
async function runGenerate(ctx: GpuContext, plan: BenchPlan, io: CliIo): Promise<GenerateReport> {
  const config = resolveConfig(plan.model);
  const params = initParameters(config, 1);
  const runs: GenerateRun[] = [];
  for (const batch of plan.generateBatches) {
    io.stderr(`generate: warm-up at batch ${batch}\n`);
    runs.push(await timeGeneration(createGenerator(ctx, config, params, { batch }), plan));
  }
  const unetConfig = resolveConfig(plan.unetModel);
  io.stderr('generate: warm-up of the U-Net at batch 1\n');
  const unet = await timeGeneration(createBackboneGenerator(ctx, unetConfig, initParameters(unetConfig, 1), { batch: 1 }), plan);
  return { config, sampleRateHz: config.sampleRateHz, runs, unet: { config: unetConfig, run: unet } };
}

/** Times one generator as runGenerate describes, then destroys it. */
async function timeGeneration(generator: BackboneGenerator, plan: BenchPlan): Promise<GenerateRun> {
  try {
    const compileSec = (await generator.warmUp()) / 1000;
    const sampling = { temperature: 1, topP: 0.95, seed: 7, onChunk: () => {} };
    const probeSamples = 64;
    let started = performance.now();
    await generator.generate({ ...sampling, samples: probeSamples, chunkSamples: probeSamples });
    const probeRate = probeSamples / ((performance.now() - started) / 1000);
    const samplesPerStream = Math.max(256, Math.round(probeRate * plan.generateRunSec));

    const seconds: number[] = [];
    for (let run = 0; run < plan.repeats; run++) {
      generator.reset();
      started = performance.now();
      const result = await generator.generate({ ...sampling, samples: samplesPerStream, chunkSamples: Math.min(samplesPerStream, 4096) });
      seconds.push((performance.now() - started) / 1000);
      if (result.samples !== samplesPerStream) throw new Error(`generate benchmark: generate() returned ${result.samples} of ${samplesPerStream} samples per stream`);
    }
    const sec = stats(seconds);
    const perStream = samplesPerStream / sec.median;
    return {
      batch: generator.batch,
      samplesPerStream,
      sec,
      samplesPerSec: perStream * generator.batch,
      perStreamSamplesPerSec: perStream,
      realTimeFactorPerStream: perStream / generator.config.sampleRateHz,
      compileSec,
    };
  } finally {
    generator.destroy();
  }
}

// --- formatting ----------------------------------------------------------------------

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

function minMedian(values: Stats, scale: number, digits: number): string {
  return `${fixed(values.min * scale, digits)} / ${fixed(values.median * scale, digits)}`;
}

function modelText(config: ModelConfig): string {
  return `D=${config.dModel}, ${config.nLayers} layers, N=${config.dState}, E=${config.expand} (DI=${innerWidth(config)}, R=${config.dtRank}, K=${config.dConv}, V=${config.vocabSize})`;
}

function formatScan(report: ScanReport, repeats: number): string[] {
  const { B, L, DI, N } = report.shape;
  const work = B * L * DI;
  const row = (name: string, gpu: Stats, reference: Stats) =>
    `| ${name} | ${minMedian(gpu, 1e3, 1)} | ${minMedian(reference, 1e3, 1)} | ${fixed(reference.median / gpu.median, 1)}x | ${fixed(work / gpu.median / 1e6)} | ${fixed(work / reference.median / 1e6)} |`;
  return [
    `### Selective scan, B=${B} L=${L} DI=${DI} N=${N}`,
    '',
    `GPU kernels (gpu/kernels/scan.ts) against the TypeScript reference (gpu/reference/scan.ts) on the same input, with gpu/bench/scan-bench.ts: ` +
      `${repeats} runs of each, every GPU run after an untimed one that compiles the shaders. Milliseconds per pass.`,
    '',
    '| pass | GPU ms, min / median | TS reference ms, min / median | speed-up of medians | GPU M channel-steps/s | reference M channel-steps/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('forward', report.gpuForwardSec, report.referenceForwardSec),
    row('backward', report.gpuBackwardSec, report.referenceBackwardSec),
  ];
}

function formatTrain(report: TrainReport, repeats: number): string[] {
  const { B, L } = report.batch;
  const tokens = B * L;
  const base = report.growth[0];
  const lines = [
    `### Training, ${modelText(report.config)}`,
    '',
    `A step is forward, cross-entropy, backward, the global gradient norm read back, and AdamW, as the Trainer runs it, on random codes. ` +
      `An untimed step at B=${WARM_UP_SHAPE.B} L=${WARM_UP_SHAPE.L} compiles the shaders first. Then ${repeats} forward passes and ${repeats} steps run at ${B} x ${L}. ` +
      'The first forward pass at that shape also allocates its activations.',
    '',
    '| what | B x L | s per step, min / median | tokens/s from the median | us per token |',
    '| --- | --- | ---: | ---: | ---: |',
    `| GPU training step | ${B} x ${L} | ${minMedian(report.batch.stepSec, 1, 2)} | ${fixed(report.batch.tokensPerSec, 0)} | ${fixed((report.batch.stepSec.median / tokens) * 1e6, 0)} |`,
    `| GPU forward only | ${B} x ${L} | ${minMedian(report.batch.forwardSec, 1, 2)} | ${fixed(report.batch.forwardTokensPerSec, 0)} | ${fixed((report.batch.forwardSec.median / tokens) * 1e6, 0)} |`,
    `| TS reference forward only, extrapolated per token | 1 x ${report.reference.L} | ${minMedian(report.reference.forwardSec, 1, 2)} | ${fixed(report.reference.tokensPerSec, 0)} | ${fixed(1e6 / report.reference.tokensPerSec, 0)} |`,
    '',
    `The TypeScript reference (gpu/reference/model.ts) has no backward pass, so it compares with the GPU forward row: the GPU is ${fixed(report.batch.forwardTokensPerSec / report.reference.tokensPerSec, 1)}x faster. ` +
      `The reference runs only ${report.reference.L} tokens because it is slow; its loops are linear in L, so its rate per token is extrapolated to the GPU's lengths.`,
    '',
    `Growth with sequence length at batch 1, one step per length (the first at that length, so it includes allocating its activations):`,
    '',
    '| L | s per step | tokens/s | us per token | per token, relative to the first row |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...report.growth.map((row) => `| ${row.L} | ${fixed(row.stepSec, 2)} | ${fixed(row.tokensPerSec, 0)} | ${fixed(row.usPerToken, 0)} | ${fixed(row.usPerToken / base.usPerToken, 2)} |`),
  ];
  return lines;
}

function formatGenerate(report: GenerateReport, repeats: number): string[] {
  const header = [
    '| B | samples per stream per run | run s, min / median | samples/s, all streams | samples/s per stream | real-time factor per stream | kernel compile s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const row = (run: GenerateRun) =>
    `| ${run.batch} | ${run.samplesPerStream} | ${minMedian(run.sec, 1, 2)} | ${fixed(run.samplesPerSec, 0)} | ${fixed(run.perStreamSamplesPerSec, 0)} | ${fixed(run.realTimeFactorPerStream, 3)} | ${fixed(run.compileSec, 1)} |`;
  const pools = report.unet.config.sashimi?.pool.join(', ');
  return [
    `### Generation, ${modelText(report.config)}`,
    '',
    `generate() with temperature 1 and top-p 0.95, random weights, ${repeats} timed runs per batch after a warm-up and a probe that sizes the runs. Rates use the median run. Real-time factor: generated audio seconds per wall-clock second of one stream at ${report.sampleRateHz} Hz.`,
    '',
    ...header,
    ...report.runs.map(row),
    '',
    `The same at batch 1 for a SaShiMi U-Net, D=${report.unet.config.dModel} at the outer level, pools [${pools}], ${report.unet.config.nLayers} blocks (one fused kernel dispatch per stage and step, gpu/generate/stage-kernel.ts):`,
    '',
    ...header,
    row(report.unet.run),
  ];
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  if (report.scan) lines.push(...formatScan(report.scan, report.repeats), '');
  if (report.train) lines.push(...formatTrain(report.train, report.repeats), '');
  if (report.generate) lines.push(...formatGenerate(report.generate, report.repeats), '');
  if (report.memory) lines.push(...formatMemory(report.memory), '');
  return lines.join('\n');
}

function machineText(report: BenchReport): string {
  const { machine } = report;
  return (
    `Machine: ${machine.cpuCount} cores (\`nproc\`), CPU model "${machine.cpuModel}", ${fixed(machine.memoryGiB, 0)} GiB RAM, Node ${machine.node}. ` +
    `Adapter: ${report.adapter}. Date: ${report.date} by the machine's clock. Load average (1 min) ${fixed(machine.loadAverageStart)} at the start and ` +
    `${fixed(machine.loadAverageEnd)} at the end on ${machine.cpuCount} cores: other jobs shared the CPUs, which run the software adapter too, ` +
    `so single runs vary widely; hence min and median. The whole run took ${fixed(report.totalSec / 60, 1)} minutes of wall time ` +
    `and ${fixed(report.cpuSec / 60, 1)} minutes of CPU time in this process (all threads).`
  );
}

/** Replaces the "Engine benchmarks" section of the benchmarks page (up to the next "## " heading), or appends it. */
export function replaceRecordSection(page: string, section: string): string {
  const start = page.indexOf(`\n${RECORD_HEADING}\n`);
  if (start === -1) return `${page.trimEnd()}\n\n${section.trimEnd()}\n`;
  const next = page.indexOf('\n## ', start + 1);
  const tail = next === -1 ? '' : `\n${page.slice(next + 1)}`;
  return `${page.slice(0, start + 1)}${section.trimEnd()}\n${tail}`;
}

/** Line width of prose on the benchmarks page. */
const PAGE_WIDTH = 92;

/** Breaks a paragraph into lines of at most `width` characters at spaces. */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

function recordSection(report: BenchReport): string {
  return [
    RECORD_HEADING,
    '',
    'The engine on a WebGPU adapter: the selective scan against its TypeScript reference,',
    'training throughput and its growth with sequence length, and recurrent generation.',
    '',
    'Command (`npm run bench -- --record` runs the same):',
    '',
    '```',
    report.command,
    '```',
    '',
    wrapText(machineText(report), PAGE_WIDTH),
    '',
    formatReport(report)
      .split('\n')
      .map((line) => (line.startsWith('|') || line.startsWith('#') ? line : wrapText(line, PAGE_WIDTH)))
      .join('\n')
      .trimEnd(),
    '',
  ].join('\n');
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure the scan, training throughput and generation on the WebGPU adapter',
  synopsis: '[options]',
  description:
    'Measures, in one run on this machine\'s WebGPU adapter:\n' +
    '  scan      the selective scan at L=16384, DI=256, N=16: GPU forward and backward against\n' +
    '            the TypeScript reference;\n' +
    '  train     training steps (forward, backward, AdamW) of a D=64, 8-layer model at batch\n' +
    '            4 x 4096 and at batch 1 for L = 4096, 16384 and 65536, against the CPU\n' +
    '            reference forward at L=512, extrapolated per token;\n' +
    '  generate  samples/s and the real-time factor at 16 kHz at batch 1, 8 and 32;\n' +
    '  memory    (only with --only memory) the GPU bytes allocated while generating at batch 1\n' +
    '            for at least --audio-seconds of audio and --minutes of wall time.\n' +
    'Every measurement except the growth series runs --repeats times and reports the minimum\n' +
    'and the median, because other work on the machine makes single runs noisy. The full run\n' +
    'took about 3 minutes on two idle CPU cores with llvmpipe, and 20 minutes when other jobs\n' +
    'shared them. --quick runs small sizes as a smoke test.',
  options: [
    { name: 'quick', description: 'small sizes and a 2-layer model, to check that everything runs (under a minute once shaders are cached)' },
    { name: 'only', valueName: 'PART', description: `run one part: ${SECTIONS.join(', ')} (default: ${DEFAULT_SECTIONS.join(', ')})` },
    { name: 'audio-seconds', valueName: 'S', description: `memory: seconds of audio to generate at least (default ${FULL_PLAN.memory.audioSeconds}, ${QUICK_PLAN.memory.audioSeconds} with --quick)` },
    { name: 'minutes', valueName: 'M', description: `memory: minutes of wall time to keep generating at least (default ${FULL_PLAN.memory.minutes}, ${QUICK_PLAN.memory.minutes} with --quick)` },
    { name: 'repeats', valueName: 'N', description: `timed runs per measurement (default ${FULL_PLAN.repeats}, ${QUICK_PLAN.repeats} with --quick)` },
    { name: 'json', description: 'print the results as one JSON object instead of tables' },
    { name: 'record', description: `write the tables, machine and command into ${'docs/benchmarks.md'} under "Engine benchmarks", replacing an earlier record` },
  ],
  positionals: [],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const quick = args.flag('quick');
    const only = args.choice('only', SECTIONS);
    const record = args.flag('record');
    if (record && (quick || only !== undefined)) throw new UsageError('--record stores the full run of every part; drop --quick and --only');
    const base = quick ? QUICK_PLAN : FULL_PLAN;
    const memory: MemoryTarget = {
      audioSeconds: args.number('audio-seconds', { min: 1 }) ?? base.memory.audioSeconds,
      minutes: args.number('minutes', { min: 0 }) ?? base.memory.minutes,
    };
    const plan: BenchPlan = { ...base, memory, repeats: args.number('repeats', { integer: true, min: 1, max: 100 }) ?? base.repeats };
    const sections: Section[] = only === undefined ? [...DEFAULT_SECTIONS] : [only];

    const commandParts = ['mamba-audio bench', quick ? '--quick' : '', only ? `--only ${only}` : '', args.string('repeats') ? `--repeats ${plan.repeats}` : '', args.string('audio-seconds') ? `--audio-seconds ${memory.audioSeconds}` : '', args.string('minutes') ? `--minutes ${memory.minutes}` : '', args.flag('json') ? '--json' : '', record ? '--record' : ''];
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const loadAverageStart = loadavg()[0];
    const ctx = await createNodeContext({ label: 'mamba-audio bench' });
    let report: BenchReport;
    try {
      io.stderr(`bench: adapter ${ctx.info.adapterName}; ${availableParallelism()} CPUs, load average ${fixed(loadAverageStart)}\n`);
      const scan = sections.includes('scan') ? await runScan(ctx, plan, io) : undefined;
      const train = sections.includes('train') ? await runTrain(ctx, plan, io) : undefined;
      const generate = sections.includes('generate') ? await runGenerate(ctx, plan, io) : undefined;
      const memoryReport = sections.includes('memory') ? await runMemory(ctx, plan.model, plan.memory, io) : undefined;
      report = {
        command: commandParts.filter((part) => part !== '').join(' '),
        date: new Date().toISOString().slice(0, 10),
        adapter: ctx.info.adapterName,
        machine: {
          cpuCount: availableParallelism(),
          cpuModel: cpus()[0]?.model ?? 'unknown',
          memoryGiB: totalmem() / 2 ** 30,
          node: process.version,
          loadAverageStart,
          loadAverageEnd: loadavg()[0],
        },
        quick,
        repeats: plan.repeats,
        totalSec: (performance.now() - started) / 1000,
        cpuSec: cpuSeconds(process.cpuUsage(cpuStart)),
        scan,
        train,
        generate,
        memory: memoryReport,
      };
    } finally {
      ctx.destroy();
    }

    if (args.flag('json')) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else io.stdout(`${machineText(report)}\n\n${formatReport(report)}`);

    if (record) {
      const page = await readFile(BENCHMARKS_PATH, 'utf8');
      await writeFileAtomically(BENCHMARKS_PATH, new TextEncoder().encode(replaceRecordSection(page, recordSection(report))));
      io.stderr(`bench: recorded in ${BENCHMARKS_PATH}\n`);
    }
    return EXIT_OK;
  },
};
