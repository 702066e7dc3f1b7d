// Code shared by `train` and `finetune`: loading clips from files and folders, the training
// options, progress output, and checkpoints written atomically into a run folder.
import { mkdir, readdir, readFile, stat, appendFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

import { readAudioFile, writeFileAtomically } from '../audio/node-file';
import { prepareCodes } from '../audio/prepare';
import { AudioDecodeError } from '../audio/errors';
import type { GpuContext } from '../gpu/context';
import { decodeCheckpoint, decodeOptimizerState, encodeCheckpoint, encodeOptimizerState, type Checkpoint } from '../gpu/model/checkpoint';
import { ConfigError, parameterCount, type ModelConfig } from '../gpu/model/config';
import type { LanguageModel } from '../gpu/model/language-model';
import { checkSequenceLength, sashimiLevels } from '../gpu/model/sashimi-config';
import { DataError, splitClips, type CodeClip, type DataSplit } from '../gpu/train/data';
import { DEFAULT_TRAIN_OPTIONS, Trainer, type TrainOptions, type TrainSummary } from '../gpu/train/trainer';
import { UsageError, type OptionSpec, type ParsedArgs } from './args';
import type { CliIo } from './command';
import { ProgressLine } from './progress';

const AUDIO_EXTENSIONS = new Set(['.wav', '.wave', '.flac', '.mp3', '.ogg', '.oga']);

export const TRAINING_OPTIONS: OptionSpec[] = [
  { name: 'out', short: 'o', valueName: 'DIR', description: 'run folder for checkpoints and the log (default runs/<date-time>)' },
  { name: 'steps', valueName: 'N', description: `optimizer steps (default ${DEFAULT_TRAIN_OPTIONS.steps})` },
  { name: 'max-minutes', valueName: 'MIN', description: 'stop after this many minutes of training, saving a checkpoint (default: no limit)' },
  { name: 'window', valueName: 'SAMPLES', description: `samples per training window (default ${DEFAULT_TRAIN_OPTIONS.windowSamples})` },
  { name: 'batch', valueName: 'N', description: `windows per batch (default ${DEFAULT_TRAIN_OPTIONS.batchSize})` },
  { name: 'lr', valueName: 'X', description: `peak learning rate (default ${DEFAULT_TRAIN_OPTIONS.peakLr})` },
  { name: 'min-lr', valueName: 'X', description: `learning rate at the end of the cosine decay (default ${DEFAULT_TRAIN_OPTIONS.minLr})` },
  { name: 'warmup', valueName: 'N', description: `linear warm-up steps (default ${DEFAULT_TRAIN_OPTIONS.warmupSteps})` },
  { name: 'weight-decay', valueName: 'X', description: `AdamW weight decay on matrices (default ${DEFAULT_TRAIN_OPTIONS.weightDecay})` },
  { name: 'grad-clip', valueName: 'X', description: `global gradient norm limit (default ${DEFAULT_TRAIN_OPTIONS.gradClip})` },
  { name: 'eval-every', valueName: 'N', description: `validate every N steps, 0 only at the end (default ${DEFAULT_TRAIN_OPTIONS.evalEvery})` },
  { name: 'eval-windows', valueName: 'N', description: `held-out windows per validation (default ${DEFAULT_TRAIN_OPTIONS.evalWindows})` },
  { name: 'checkpoint-every', valueName: 'N', description: `save every N steps, 0 only at the end (default ${DEFAULT_TRAIN_OPTIONS.checkpointEvery})` },
  { name: 'hold-out', valueName: 'NAME', description: 'hold out this whole clip (file name) for validation, instead of the last 10% of each clip' },
  { name: 'hold-out-fraction', valueName: 'X', description: 'fraction at the end of every clip held out for validation (default 0.1)' },
  { name: 'seed', valueName: 'N', description: 'seed of the initial weights and the window order (default 1)' },
  { name: 'json', description: 'print progress as JSON lines instead of a progress bar' },
];

export function trainOptionsFrom(args: ParsedArgs): TrainOptions {
  const d = DEFAULT_TRAIN_OPTIONS;
  const options: TrainOptions = {
    ...d,
    steps: args.number('steps', { integer: true, min: 1 }) ?? d.steps,
    windowSamples: args.number('window', { integer: true, min: 2, max: 1 << 20 }) ?? d.windowSamples,
    batchSize: args.number('batch', { integer: true, min: 1, max: 1024 }) ?? d.batchSize,
    peakLr: args.number('lr', { min: 0, max: 1 }) ?? d.peakLr,
    minLr: args.number('min-lr', { min: 0, max: 1 }) ?? d.minLr,
    warmupSteps: args.number('warmup', { integer: true, min: 0 }) ?? d.warmupSteps,
    weightDecay: args.number('weight-decay', { min: 0, max: 10 }) ?? d.weightDecay,
    gradClip: args.number('grad-clip', { min: 0 }) ?? d.gradClip,
    evalEvery: args.number('eval-every', { integer: true, min: 0 }) ?? d.evalEvery,
    evalWindows: args.number('eval-windows', { integer: true, min: 1 }) ?? d.evalWindows,
    checkpointEvery: args.number('checkpoint-every', { integer: true, min: 0 }) ?? d.checkpointEvery,
    seed: args.number('seed', { integer: true, min: 0 }) ?? d.seed,
  };
  if (options.minLr > options.peakLr) throw new UsageError(`--min-lr ${options.minLr} is above --lr ${options.peakLr}`);
  return options;
}

/** Throws UsageError unless the model's parallel forward accepts --window (SaShiMi needs multiples of its pool product). */
export function checkWindowForModel(config: ModelConfig, options: TrainOptions): void {
  try {
    checkSequenceLength(config, options.windowSamples, 'set --window to a multiple of it');
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** Describes the backbone and its sizes in one line, for the start of a run. */
export function describeModel(config: ModelConfig): string {
  const count = `${parameterCount(config).toLocaleString('en-US')} parameters`;
  if (config.backbone !== 'sashimi') return `${count}, D=${config.dModel}, ${countOf(config.nLayers, 'layer')}, N=${config.dState}`;
  const { pool, downBlocks, centerBlocks, upBlocks } = config.sashimi!;
  const widths = sashimiLevels(config).map((level) => level.dModel).join('/');
  return (
    `${count}, SaShiMi U-Net with pool factors [${pool.join(', ')}], widths D=${widths}, ` +
    `${config.nLayers} blocks (${downBlocks} down, ${centerBlocks} center, ${upBlocks} up per stage), N=${config.dState}`
  );
}

/** Audio files named on the command line, with folders expanded to the audio files inside. */
export async function findAudioFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new UsageError(`${path} does not exist; give audio files or folders of them`);
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path)).filter((name) => AUDIO_EXTENSIONS.has(extname(name).toLowerCase())).sort();
      if (entries.length === 0) throw new UsageError(`${path} contains no audio files (${[...AUDIO_EXTENSIONS].join(', ')})`);
      files.push(...entries.map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  return files;
}

/** Decodes and quantises every file; unusable files stop the run with the decoder's message. */
export async function loadClips(files: readonly string[], config: ModelConfig, io: CliIo): Promise<CodeClip[]> {
  const clips: CodeClip[] = [];
  const tooShort: AudioDecodeError[] = [];
  for (const file of files) {
    const decoded = await readAudioFile(file);
    const quantization = config.encoding === 'linear' ? 'linear' : 'mu-law';
    let prepared;
    try {
      prepared = prepareCodes(decoded, { sampleRateHz: config.sampleRateHz, quantization });
    } catch (error) {
      // One short sound in a folder should not stop training on the rest.
      if (!(error instanceof AudioDecodeError && error.code === 'too-short')) throw error;
      io.stderr(`warning: skipping ${error.message}\n`);
      tooShort.push(error);
      continue;
    }
    for (const warning of prepared.warnings) io.stderr(`warning: ${basename(file)}: ${warning}\n`);
    clips.push({ name: basename(file), codes: prepared.codes });
  }
  if (clips.length === 0 && tooShort.length > 0) throw tooShort[0];
  return clips;
}

export async function readCheckpointFile(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`checkpoint ${path} was not found; check the path (checkpoints are .safetensors files)`);
    if (code === 'EISDIR') throw new UsageError(`checkpoint ${path} is a folder; give the model.safetensors file inside it`);
    throw new UsageError(`cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
  return decodeCheckpoint(bytes, path);
}

function defaultRunFolder(): string {
  const now = new Date();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', stamp);
}

/** Returns "1 clip", "2 clips": the count and the noun, plural unless the count is 1. */
export function countOf(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

function formatBits(bits: number): string {
  return `${bits.toFixed(3)} bits`;
}

/**
 * Runs the trainer with progress output, a JSON-lines log and checkpoints in the run
 * folder: model.safetensors (always the last good state, replaced atomically) and
 * model.optimizer.safetensors for an exact resume.
 */
export async function runTraining(
  ctx: GpuContext,
  model: LanguageModel,
  clips: CodeClip[],
  options: TrainOptions,
  args: ParsedArgs,
  io: CliIo,
  resumeOptimizer?: Uint8Array,
): Promise<TrainSummary> {
  const runFolder = resolve(args.string('out') ?? defaultRunFolder());
  const logPath = join(runFolder, 'log.jsonl');
  const json = args.flag('json');
  const holdOut = args.string('hold-out');
  const heldOutFraction = args.number('hold-out-fraction', { min: 0.001, max: 0.999 });
  let split: DataSplit;
  let trainer: Trainer;
  try {
    split = splitClips(clips, { heldOutClip: holdOut, heldOutFraction, windowSamples: options.windowSamples });
    trainer = new Trainer(ctx, model, split, options);
  } catch (error) {
    // Too little audio for the windows or the held-out batch is a problem with the input.
    if (error instanceof DataError) {
      throw new UsageError(`${error.message} The options: --hold-out-fraction or --hold-out for more held-out audio, or a smaller --batch or --window.`);
    }
    throw error;
  }
  if (resumeOptimizer) trainer.optimizer.load(decodeOptimizerState(resumeOptimizer, 'optimizer state', model.config));
  // Made only once the inputs passed their checks, so a rejected run leaves no empty folder behind.
  await mkdir(runFolder, { recursive: true });

  const maxMinutes = args.number('max-minutes', { min: 0 });
  const controller = new AbortController();
  const timer = maxMinutes !== undefined ? setTimeout(() => controller.abort(), maxMinutes * 60_000) : null;
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);

  const trainSamples = split.train.reduce((sum, clip) => sum + clip.codes.length, 0);
  const heldOutSamples = split.heldOut.reduce((sum, clip) => sum + clip.codes.length, 0);
  io.stderr(
    `model: ${describeModel(model.config)}; adapter: ${ctx.info.adapterName}\n` +
      `data: ${countOf(split.train.length, 'clip')}, ${trainSamples.toLocaleString('en-US')} training and ${heldOutSamples.toLocaleString('en-US')} held-out samples\n` +
      `run folder: ${runFolder}\n`,
  );

  const progress = new ProgressLine(io, !json && process.stderr.isTTY === true);
  const log = async (record: Record<string, unknown>) => {
    await appendFile(logPath, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
    if (json) io.stdout(`${JSON.stringify(record)}\n`);
  };
  let lastValidation = NaN;

  // A resumed run continues the step count of its checkpoint.
  const firstStep = trainer.optimizer.step;
  try {
    const summary = await trainer.run({
      signal: controller.signal,
      onStep: (report) => {
        void log({ event: 'step', ...report });
        progress.update(
          `step ${report.step}/${firstStep + options.steps}`,
          (report.step - firstStep) / options.steps,
          `loss ${formatBits(report.lossBits)}  val ${Number.isNaN(lastValidation) ? '-' : formatBits(lastValidation)}  ` +
            `${Math.round(report.samplesPerSec).toLocaleString('en-US')} samples/s  ETA ${formatDuration(report.etaSec)}`,
        );
      },
      onEval: (report) => {
        lastValidation = report.validationBits;
        void log({ event: 'validation', ...report });
        progress.message(`step ${report.step}: held-out NLL ${formatBits(report.validationBits)} per sample`);
      },
      onSkip: (event) => {
        void log({ event: 'skipped-step', ...event });
        progress.message(`step ${event.step} skipped: non-finite ${event.reason}`);
      },
      saveCheckpoint: async ({ step, model: current, optimizer, reason }) => {
        const params = await current.readParameters();
        const bytes = encodeCheckpoint({ config: current.config, params, trainer: { step, ...optionsRecord(options) } });
        await writeFileAtomically(join(runFolder, 'model.safetensors'), bytes);
        await writeFileAtomically(join(runFolder, 'model.optimizer.safetensors'), encodeOptimizerState(await optimizer.read()));
        await log({ event: 'checkpoint', step, reason });
      },
    });
    progress.done();
    await log({ event: 'summary', ...summary });
    io.stderr(
      `done: ${countOf(summary.stepsRun, 'step')}${summary.stoppedEarly ? ' (stopped early)' : ''}, ` +
        `held-out NLL ${formatBits(summary.initialValidationBits)} -> ${formatBits(summary.finalValidationBits)} per sample ` +
        `(unigram baseline ${formatBits(summary.unigramBits)}), ${Math.round(summary.samplesPerSec).toLocaleString('en-US')} samples/s\n` +
        `checkpoint: ${join(runFolder, 'model.safetensors')}\n`,
    );
    return summary;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSigint);
    trainer.destroy();
  }
}

function optionsRecord(options: TrainOptions): Record<string, unknown> {
  return { options };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const total = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(total / 60);
  const hours = Math.floor(minutes / 60);
  const pad = (value: number) => String(value).padStart(2, '0');
  return hours > 0 ? `${hours}:${pad(minutes % 60)}:${pad(total % 60)}` : `${minutes}:${pad(total % 60)}`;
}

export { AudioDecodeError };
