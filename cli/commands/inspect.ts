// `mamba-audio inspect CLIP`: runs a model over a span of a clip and records its
// selectivity traces: delta, the gate silu(z) and the SSM state norm, per layer and
// channel. It writes them to a JSON or safetensors file and draws them as heatmaps under
// the waveform in a PNG. For a SaShiMi U-Net the layers are its blocks in forward order,
// and a block at a level with stride r has one row per r samples, drawn over those samples.
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';

import { readAudioFile, writeFileAtomically } from '../../audio/node-file';
import { computePeaks } from '../../audio/peaks';
import { prepareCodes } from '../../audio/prepare';
import type { GpuContext } from '../../gpu/context';
import { CheckpointError, type Checkpoint } from '../../gpu/model/checkpoint';
import { innerWidth, type ModelConfig } from '../../gpu/model/config';
import type { ParameterMap } from '../../gpu/model/init';
import { MambaLM } from '../../gpu/model/lm';
import { poolProduct, sashimiLevels, tracedBlocks } from '../../gpu/model/sashimi-config';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { SafetensorsError } from '../../gpu/model/safetensors';
import { createNodeContext } from '../../gpu/node';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_INPUT_ERROR, EXIT_OK, type CliIo, type Command } from '../command';
import { requireOutputFolder } from '../output-folder';
import { renderInspection, TRACE_KINDS, type LayerTraceRows } from '../render/heatmap';
import { encodeTraceSafetensors, writeTraceJson, type TraceRecord, type TraceWindow } from '../render/trace-file';
import { readCheckpointFile } from '../training';

/** The model shipped with the app, used when --model is not given. */
export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../assets/default-model.safetensors', import.meta.url));

/** Span traced when --duration is not given, in seconds: full-resolution traces grow as L x DI per layer. */
const DEFAULT_MAX_DURATION_SEC = 10;
export const DEFAULT_WIDTH_PX = 1600;
/** Characters per traced number in the JSON file, an estimate from files of the default model. */
const JSON_BYTES_PER_VALUE = 11;
/** JSON files above this size get a warning before the tracing starts. */
const LARGE_JSON_BYTES = 100e6;
/** Largest forward pass by default, in samples; --window overrides it. */
const DEFAULT_WINDOW_SAMPLES = 65536;
/** Samples run before each window after the first, so its SSM and conv states start warm. */
const DEFAULT_OVERLAP_SAMPLES = 8192;

interface SpanRequest {
  startSample: number;
  sampleCount: number;
}

/**
 * Returns the maximum time steps of one forward pass of this model on this device. The
 * widest activation (x_proj output, [x | z] or the logits) must fit in one storage binding.
 * A U-Net level with stride r has L / r rows of its own widths, and the result is a
 * multiple of the pool product.
 */
export function maxWindowSamples(ctx: GpuContext, config: ModelConfig): number {
  const limit = ctx.limits.maxStorageBufferBindingSize;
  if (config.backbone !== 'sashimi') {
    const DI = innerWidth(config);
    const widestColumns = Math.max(config.dModel, 2 * DI, config.dtRank + 2 * config.dState, config.vocabSize);
    return Math.floor(limit / (4 * widestColumns));
  }
  let samples = Infinity;
  for (const level of sashimiLevels(config)) {
    const DI = config.expand * level.dModel;
    const widestColumns = Math.max(level.dModel, 2 * DI, config.dtRank + 2 * config.dState, level.level === 0 ? config.vocabSize : 0);
    samples = Math.min(samples, Math.floor(limit / (4 * widestColumns)) * level.stride);
  }
  const product = poolProduct(config);
  return Math.floor(samples / product) * product;
}

/**
 * Splits [startSample, startSample + sampleCount) into forward passes of at most
 * `windowSamples`. Every pass after the first also runs up to `overlapSamples` before the
 * samples it keeps, so its states are warm when those samples start.
 * NOTE: MambaLM's forward starts from zero conv and SSM states, so the overlap only
 * approximates the states of a single pass. Exact windows need MambaLM.encodeForward to
 * accept initial states.
 */
export function planWindows(startSample: number, sampleCount: number, windowSamples: number, overlapSamples: number): TraceWindow[] {
  const endSample = startSample + sampleCount;
  const windows: TraceWindow[] = [];
  let keepFromSample = startSample;
  while (keepFromSample < endSample) {
    const runFromSample = Math.max(startSample, keepFromSample - overlapSamples);
    const windowEnd = Math.min(endSample, runFromSample + windowSamples);
    windows.push({ runFromSample, keepFromSample, endSample: windowEnd });
    keepFromSample = windowEnd;
  }
  return windows;
}

function outputPaths(args: ParsedArgs): { tracePath?: string; pngPath?: string } {
  const tracePath = args.string('out');
  const pngPath = args.string('png');
  if (tracePath === undefined && pngPath === undefined) throw new UsageError('nothing to write: give --out FILE.json, --out FILE.safetensors or --png FILE.png');
  if (tracePath !== undefined && !['.json', '.safetensors'].includes(extname(tracePath).toLowerCase())) {
    throw new UsageError(`--out ${tracePath} must end in .json or .safetensors`);
  }
  if (pngPath !== undefined && extname(pngPath).toLowerCase() !== '.png') throw new UsageError(`--png ${pngPath} must end in .png`);
  if (tracePath !== undefined) requireOutputFolder(tracePath, `--out ${tracePath}`);
  if (pngPath !== undefined) requireOutputFolder(pngPath, `--png ${pngPath}`);
  return { tracePath, pngPath };
}

/** Path of the JSON file that describes the bands of a PNG: out.png -> out.bands.json. */
export function sidecarPath(pngPath: string): string {
  return `${pngPath.slice(0, pngPath.length - extname(pngPath).length)}.bands.json`;
}

async function loadModel(args: ParsedArgs): Promise<{ path: string; checkpoint: Checkpoint }> {
  const modelOption = args.string('model');
  if (modelOption === undefined && !existsSync(DEFAULT_MODEL_PATH)) {
    throw new UsageError(`no --model given, and the default model ${DEFAULT_MODEL_PATH} does not exist; pass --model FILE.safetensors (a checkpoint from 'mamba-audio train')`);
  }
  const path = modelOption ?? DEFAULT_MODEL_PATH;
  const checkpoint = await readCheckpointFile(path);
  if (checkpoint.config.encoding === 'tokens') {
    throw new CheckpointError(`${path}: the model was trained on tokens, not audio, so it cannot inspect a clip`);
  }
  return { path, checkpoint };
}

/** Converts --start and --duration to samples at the model rate, checked against the clip. */
function spanOf(args: ParsedArgs, clipSamples: number, sampleRateHz: number, io: CliIo): SpanRequest {
  const startSec = args.number('start', { min: 0 }) ?? 0;
  const durationSec = args.number('duration', { min: 0 });
  const clipSec = clipSamples / sampleRateHz;
  const startSample = Math.round(startSec * sampleRateHz);
  if (startSample >= clipSamples) throw new UsageError(`--start ${startSec} s is at or past the end of the clip, which lasts ${clipSec.toFixed(3)} s`);

  const available = clipSamples - startSample;
  if (durationSec === undefined) {
    const sampleCount = Math.min(available, DEFAULT_MAX_DURATION_SEC * sampleRateHz);
    if (sampleCount < available) {
      io.stderr(`note: tracing the first ${DEFAULT_MAX_DURATION_SEC} s from ${startSec} s of the ${clipSec.toFixed(3)} s clip; --duration SEC traces more\n`);
    }
    return { startSample, sampleCount };
  }
  const requested = Math.max(1, Math.round(durationSec * sampleRateHz));
  if (requested > available) {
    io.stderr(`note: --duration ${durationSec} s runs past the end of the clip; tracing ${(available / sampleRateHz).toFixed(3)} s to its end\n`);
  }
  return { startSample, sampleCount: Math.min(requested, available) };
}

/** A model that records traces over one window, flat or U-Net. */
interface WindowTracer {
  /** Per layer: its channels, the samples each trace row covers, and its name in the PNG. */
  layers: Array<Required<Pick<LayerTraceRows, 'channels' | 'samplesPerRow' | 'label'>>>;
  /** Runs one window of codes; each layer's traces have ceil(codes / samplesPerRow) rows. */
  trace(codes: Uint32Array): Promise<Array<Pick<LayerTraceRows, 'delta' | 'gate' | 'stateNorm'>>>;
  destroy(): void;
}

function flatTracer(ctx: GpuContext, config: ModelConfig, params: ParameterMap): WindowTracer {
  const lm = new MambaLM(ctx, config, params);
  const channels = innerWidth(config);
  return {
    layers: Array.from({ length: config.nLayers }, (_, layer) => ({ channels, samplesPerRow: 1, label: `layer ${layer}` })),
    trace: (codes) => lm.inspect(codes, 1),
    destroy: () => lm.destroy(),
  };
}

/**
 * Traces a U-Net. Its forward needs a multiple of the pool product, so a window is padded
 * with the mid-scale code. Each level is causal, so the padding changes only a level's
 * last row when that row covers samples past the window.
 */
function sashimiTracer(ctx: GpuContext, config: ModelConfig, params: ParameterMap): WindowTracer {
  const lm = new SashimiLM(ctx, config, params);
  const product = poolProduct(config);
  const layers = tracedBlocks(config).map(({ name, channels, stride }) => ({ channels, samplesPerRow: stride, label: stride > 1 ? `${name} (${stride} samples per row)` : name }));
  return {
    layers,
    async trace(codes) {
      const padded = new Uint32Array(Math.ceil(codes.length / product) * product).fill(Math.floor(config.vocabSize / 2));
      padded.set(codes);
      const traces = await lm.inspect(padded, 1);
      return traces.map((trace) => {
        const keep = Math.ceil(codes.length / trace.stride) * trace.channels;
        return { delta: trace.delta.subarray(0, keep), gate: trace.gate.subarray(0, keep), stateNorm: trace.stateNorm.subarray(0, keep) };
      });
    },
    destroy: () => lm.destroy(),
  };
}

/**
 * Runs the model over each window and returns every layer's traces over the whole span,
 * (ceil(sampleCount / samplesPerRow), channels) each, keeping only the rows each window is
 * responsible for. For a U-Net every window starts a whole number of pool products after
 * the span start, so each level's rows stay on one grid.
 */
async function traceSpan(ctx: GpuContext, tracer: WindowTracer, codes: Uint8Array, span: SpanRequest, windows: TraceWindow[], io: CliIo): Promise<LayerTraceRows[]> {
  const layers: LayerTraceRows[] = tracer.layers.map((layer) => {
    const size = Math.ceil(span.sampleCount / layer.samplesPerRow) * layer.channels;
    return { ...layer, delta: new Float32Array(size), gate: new Float32Array(size), stateNorm: new Float32Array(size) };
  });

  for (let index = 0; index < windows.length; index++) {
    const window = windows[index];
    if (windows.length > 1) io.stderr(`window ${index + 1}/${windows.length}: samples ${window.runFromSample} to ${window.endSample}\n`);
    const inputs = Uint32Array.from(codes.subarray(window.runFromSample, window.endSample));
    const traces = await tracer.trace(inputs);
    const errors = ctx.takeErrors();
    if (errors.length > 0) throw new Error(`WebGPU reported errors during the forward pass: ${errors.join('; ')}`);

    for (let layer = 0; layer < layers.length; layer++) {
      const { channels, samplesPerRow } = tracer.layers[layer];
      const skipRows = (window.keepFromSample - window.runFromSample) / samplesPerRow;
      const targetRow = (window.keepFromSample - span.startSample) / samplesPerRow;
      for (const kind of TRACE_KINDS) {
        layers[layer][kind].set(traces[layer][kind].subarray(skipRows * channels), targetRow * channels);
      }
    }
  }
  return layers;
}

export async function writePng(pngPath: string, record: TraceRecord, clipName: string, widthPx: number): Promise<{ width: number; height: number; sidecar: string }> {
  const startSec = record.startSample / record.sampleRateHz;
  const durationSec = record.sampleCount / record.sampleRateHz;
  const widths = [...new Set(record.layers.map((layer) => layer.channels ?? record.channels))];
  const shape = record.config.backbone === 'sashimi' ? `SaShiMi U-Net, ${record.layers.length} blocks, DI ${widths.join('/')}` : `${record.layers.length} layers, DI ${record.channels}`;
  const title = `${clipName}  ${startSec.toFixed(3)}-${(startSec + durationSec).toFixed(3)} s  model ${basename(record.modelPath)}: ${shape}`;
  const { image, layout } = renderInspection(
    { peaks: record.peaks, layers: record.layers, timeSteps: record.sampleCount, channels: record.channels, startSec, durationSec, title },
    widthPx,
  );
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  await writeFileAtomically(pngPath, pngjs.PNG.sync.write(png));

  const sidecar = sidecarPath(pngPath);
  const description = { image: basename(pngPath), clip: record.clipPath, model: record.modelPath, sampleRateHz: record.sampleRateHz, startSample: record.startSample, sampleCount: record.sampleCount, ...layout };
  await writeFile(sidecar, `${JSON.stringify(description, null, 2)}\n`);
  return { width: image.width, height: image.height, sidecar };
}

/** Awaits a file write; on a file-system error prints it and returns false. */
async function reportWriteError(writing: Promise<unknown>, path: string, io: CliIo): Promise<boolean> {
  try {
    await writing;
    return true;
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
    io.stderr(`mamba-audio inspect: cannot write ${path}: ${(error as Error).message}\n`);
    return false;
  }
}

function formatBytes(byteLength: number): string {
  return byteLength >= 1e6 ? `${(byteLength / 1e6).toFixed(1)} MB` : `${(byteLength / 1e3).toFixed(1)} kB`;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'trace delta, gate and state norm of a model over a clip, to a file and a heatmap PNG',
  synopsis: '[options] CLIP',
  description:
    'Runs a model over a span of CLIP (decoded, mixed to mono, resampled to the model rate,\n' +
    'peak-normalised and quantised as for training) and records, for every layer and\n' +
    'channel, the step size delta (after softplus), the output gate silu(z) and the norm of\n' +
    "the SSM state after each sample. Without --duration at most the first 10 s from --start\n" +
    'are traced, because the traces have 3 x layers x DI values per sample.\n' +
    '--out writes them as JSON or safetensors: per layer (L, DI) arrays with the time axis in\n' +
    'samples and seconds, and the min/max peaks of the waveform in --width buckets.\n' +
    '--png draws the waveform on top and one heatmap band per layer and trace below it on the\n' +
    "same time axis, each band coloured by its own 1st to 99th percentile, and writes the\n" +
    "bands' positions and colour ranges beside it (out.png: out.bands.json).\n" +
    'Spans longer than --window samples run in several forward passes. Each pass after the\n' +
    'first starts --overlap samples early so that its states are warm. The traces near its\n' +
    'start are approximate when the model remembers longer than the overlap.\n' +
    'A SaShiMi U-Net is traced block by block. A block at a level with stride r (the product\n' +
    'of the pool factors above it) has one row per r samples, which the PNG draws over those\n' +
    "r samples and the file lists in its layerInfo; --window, --overlap and --hop (above 1)\n" +
    "must then be multiples of the pool product.",
  options: [
    { name: 'model', short: 'm', valueName: 'FILE', description: 'checkpoint .safetensors (default: assets/default-model.safetensors when it exists)' },
    { name: 'start', valueName: 'SEC', description: 'start of the span in seconds from the start of the clip (default 0)' },
    { name: 'duration', valueName: 'SEC', description: `length of the span in seconds (default: to the end of the clip, at most ${DEFAULT_MAX_DURATION_SEC})` },
    { name: 'out', short: 'o', valueName: 'FILE', description: 'write the traces to FILE.json or FILE.safetensors' },
    { name: 'png', valueName: 'FILE', description: 'draw the waveform and the trace heatmaps into FILE.png' },
    { name: 'width', valueName: 'PX', description: `width of the PNG and number of peak buckets, in pixels (default ${DEFAULT_WIDTH_PX})` },
    { name: 'hop', valueName: 'SAMPLES', description: 'rows of --out are means over this many samples (default 1: every sample)' },
    { name: 'window', valueName: 'SAMPLES', description: `maximum samples per forward pass (default ${DEFAULT_WINDOW_SAMPLES}, lower when the device limits need it)` },
    { name: 'overlap', valueName: 'SAMPLES', description: `samples run before each later window to warm its states (default ${DEFAULT_OVERLAP_SAMPLES}, rounded up to a multiple of a U-Net's pool product)` },
  ],
  positionals: [{ name: 'CLIP', description: 'audio file (WAV, FLAC, MP3, Ogg Vorbis)' }],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const [clipPath] = args.positionals;
    const { tracePath, pngPath } = outputPaths(args);
    const widthPx = args.number('width', { integer: true, min: 16, max: 32768 }) ?? DEFAULT_WIDTH_PX;
    const hopSamples = args.number('hop', { integer: true, min: 1 }) ?? 1;
    const windowOption = args.number('window', { integer: true, min: 16 });
    const overlapOption = args.number('overlap', { integer: true, min: 0 });

    let model: { path: string; checkpoint: Checkpoint };
    try {
      model = await loadModel(args);
    } catch (error) {
      if (!(error instanceof CheckpointError || error instanceof SafetensorsError)) throw error;
      io.stderr(`mamba-audio inspect: ${error.message}\n`);
      return EXIT_INPUT_ERROR;
    }
    const { config, params } = model.checkpoint;

    const decoded = await readAudioFile(clipPath);
    const prepared = prepareCodes(decoded, { sampleRateHz: config.sampleRateHz, quantization: config.encoding === 'linear' ? 'linear' : 'mu-law', minDurationSec: 0 });
    for (const warning of prepared.warnings) io.stderr(`warning: ${basename(clipPath)}: ${warning}\n`);
    const span = spanOf(args, prepared.codes.length, config.sampleRateHz, io);

    const unet = config.backbone === 'sashimi';
    const product = poolProduct(config);
    const overlapSamples = overlapOption ?? Math.ceil(DEFAULT_OVERLAP_SAMPLES / product) * product;
    if (unet) {
      // Each window must start on every level's row grid, and hop rows must be whole level rows.
      const fix = `this U-Net's pool factors [${config.sashimi!.pool}] multiply to ${product}`;
      if (windowOption !== undefined && windowOption % product !== 0) throw new UsageError(`--window ${windowOption} must be a multiple of ${product}, because ${fix}`);
      if (overlapSamples % product !== 0) throw new UsageError(`--overlap ${overlapSamples} must be a multiple of ${product}, because ${fix}; e.g. --overlap ${Math.ceil(overlapSamples / product) * product}`);
      if (hopSamples > 1 && hopSamples % product !== 0) throw new UsageError(`--hop ${hopSamples} must be 1 or a multiple of ${product}, because ${fix}`);
    }

    const ctx = await createNodeContext();
    const tracer = unet ? sashimiTracer(ctx, config, params) : flatTracer(ctx, config, params);
    try {
      const deviceMax = maxWindowSamples(ctx, config);
      if (windowOption !== undefined && windowOption > deviceMax) {
        throw new UsageError(`--window ${windowOption} is too large: this model's activations fit one storage binding of this device for at most ${deviceMax} samples; use --window ${deviceMax} or less`);
      }
      const windowSamples = windowOption ?? Math.floor(Math.min(DEFAULT_WINDOW_SAMPLES, deviceMax) / product) * product;
      if (overlapSamples >= windowSamples) throw new UsageError(`--overlap ${overlapSamples} must be below the window of ${windowSamples} samples`);
      const windows = planWindows(span.startSample, span.sampleCount, windowSamples, overlapSamples);

      const channels = unet ? [...new Set(tracer.layers.map((layer) => layer.channels))].join('/') : String(innerWidth(config));
      io.stderr(
        `inspect: ${(span.sampleCount / config.sampleRateHz).toFixed(3)} s (${span.sampleCount} samples) of ${basename(clipPath)} from ` +
          `${(span.startSample / config.sampleRateHz).toFixed(3)} s; ${config.nLayers} ${unet ? 'blocks' : 'layers'} x ${channels} channels; adapter: ${ctx.info.adapterName}\n`,
      );
      if (tracePath !== undefined && extname(tracePath).toLowerCase() === '.json') {
        // Warn before a long trace rather than after it.
        const values = tracer.layers.reduce((sum, layer) => sum + Math.ceil(span.sampleCount / Math.max(hopSamples, layer.samplesPerRow)) * layer.channels * TRACE_KINDS.length, 0);
        const bytes = values * JSON_BYTES_PER_VALUE;
        if (bytes > LARGE_JSON_BYTES) {
          io.stderr(`warning: ${tracePath} will be about ${formatBytes(bytes)}; .safetensors takes 4 bytes per number, and --hop N averages N samples per row\n`);
        }
      }
      const layers = await traceSpan(ctx, tracer, prepared.codes, span, windows, io);

      const record: TraceRecord = {
        clipPath,
        modelPath: model.path,
        config,
        sampleRateHz: config.sampleRateHz,
        startSample: span.startSample,
        sampleCount: span.sampleCount,
        channels: innerWidth(config),
        hopSamples,
        windows,
        peaks: computePeaks(prepared.samples, widthPx, span.startSample, span.startSample + span.sampleCount),
        layers,
      };

      if (tracePath !== undefined) {
        const writing = extname(tracePath).toLowerCase() === '.json' ? writeTraceJson(tracePath, record) : writeFileAtomically(tracePath, encodeTraceSafetensors(record));
        if (!(await reportWriteError(writing, tracePath, io))) return EXIT_INPUT_ERROR;
        io.stderr(`traces: ${tracePath} (${formatBytes((await stat(tracePath)).size)})\n`);
      }
      if (pngPath !== undefined) {
        const writing = writePng(pngPath, record, basename(clipPath), widthPx);
        if (!(await reportWriteError(writing, pngPath, io))) return EXIT_INPUT_ERROR;
        const written = await writing;
        io.stderr(`heatmap: ${pngPath} (${written.width} x ${written.height} px), bands described in ${written.sidecar}\n`);
      }
    } finally {
      tracer.destroy();
      ctx.destroy();
    }
    return EXIT_OK;
  },
};
