// Writes the inspector's traces to a file: JSON for reading anywhere, or safetensors for
// the exact float32 values at a fraction of the size. Both hold, per layer, delta, gate
// and state norm as (rows, DI) with row i at clip sample startSample + i * hopSamples, the
// time axis in samples and seconds, and the waveform's min/max peaks. A U-Net's layers are
// its blocks, and a block at a level with stride r has rows of max(hopSamples, r) samples
// and its level's DI, both listed per layer in the metadata's layerInfo.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';

import type { Peaks } from '../../audio/peaks';
import type { ModelConfig } from '../../gpu/model/config';
import { encodeSafetensors, type SafetensorsTensor } from '../../gpu/model/safetensors';
import { TRACE_KINDS, type LayerTraceRows } from './heatmap';

export const TRACE_FILE_FORMAT = 'mamba-audio-inspect/1';

/** One forward pass over part of the span; rows before keepFromSample only warm up the state. */
export interface TraceWindow {
  /** First clip sample fed to the model. */
  runFromSample: number;
  /** First clip sample whose traces are kept. */
  keepFromSample: number;
  /** One past the last clip sample of the window. */
  endSample: number;
}

export interface TraceRecord {
  clipPath: string;
  modelPath: string;
  config: ModelConfig;
  sampleRateHz: number;
  /** First traced sample of the clip, at the model rate. */
  startSample: number;
  /** Traced samples L. */
  sampleCount: number;
  /** Channels DI of every trace without its own `channels` (a U-Net's level-0 width). */
  channels: number;
  /** Samples averaged into one row of the file. */
  hopSamples: number;
  windows: TraceWindow[];
  peaks: Peaks;
  /** Per layer, full resolution: (L, DI), or (ceil(L / r), DI_s) for a U-Net block whose level has stride r. */
  layers: LayerTraceRows[];
}

/** Shape and time grid of one layer's rows in the file, written to the metadata as layerInfo. */
export interface LayerRowInfo {
  layer: number;
  label: string;
  channels: number;
  /** Clip samples per file row: row i starts at startSample + i * samplesPerRow. */
  samplesPerRow: number;
  rows: number;
}

/**
 * Returns each layer's file rows: hopSamples rows pooled from full resolution, or, for a
 * layer whose own rows cover r samples, max(hopSamples, r) samples per row. hopSamples must
 * be a multiple of r where it is larger.
 */
export function layerRowInfo(record: Pick<TraceRecord, 'layers' | 'channels' | 'sampleCount' | 'hopSamples'>): LayerRowInfo[] {
  return record.layers.map((layer, index) => {
    const stride = layer.samplesPerRow ?? 1;
    if (record.hopSamples > stride && record.hopSamples % stride !== 0) {
      throw new RangeError(`layer ${index} has rows of ${stride} samples, which a hop of ${record.hopSamples} samples does not split into whole rows; use a hop that is a multiple of ${stride}`);
    }
    const samplesPerRow = Math.max(stride, record.hopSamples);
    return { layer: index, label: layer.label ?? `layer ${index}`, channels: layer.channels ?? record.channels, samplesPerRow, rows: Math.ceil(record.sampleCount / samplesPerRow) };
  });
}

/** Returns the file rows of one trace of a layer, (info.rows, info.channels). */
function fileRows(record: TraceRecord, info: LayerRowInfo, trace: Float32Array): Float32Array {
  const stride = record.layers[info.layer].samplesPerRow ?? 1;
  const ownRows = Math.ceil(record.sampleCount / stride);
  return poolRows(trace, ownRows, info.channels, info.samplesPerRow / stride);
}

/** Returns the mean of each block of `hop` rows of a (rows, channels) trace; the last block may be shorter. */
export function poolRows(trace: Float32Array, rows: number, channels: number, hop: number): Float32Array {
  if (hop === 1) return trace;
  const pooledRows = Math.ceil(rows / hop);
  const pooled = new Float32Array(pooledRows * channels);
  const sums = new Float64Array(channels);
  for (let block = 0; block < pooledRows; block++) {
    const from = block * hop;
    const to = Math.min(rows, from + hop);
    sums.fill(0);
    for (let row = from; row < to; row++) for (let channel = 0; channel < channels; channel++) sums[channel] += trace[row * channels + channel];
    for (let channel = 0; channel < channels; channel++) pooled[block * channels + channel] = sums[channel] / (to - from);
  }
  return pooled;
}

/** Rows of the file: the clip sample and time in seconds at the start of each row. */
export function timeAxis(record: Pick<TraceRecord, 'startSample' | 'sampleCount' | 'hopSamples' | 'sampleRateHz'>): { samples: number[]; seconds: number[] } {
  const rows = Math.ceil(record.sampleCount / record.hopSamples);
  const samples = Array.from({ length: rows }, (_, row) => record.startSample + row * record.hopSamples);
  return { samples, seconds: samples.map((sample) => sample / record.sampleRateHz) };
}

/** Shortest decimal text that reads back as the same float32 value. */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  for (let digits = 6; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

function metadataOf(record: TraceRecord, rows: number) {
  const layerInfo = layerRowInfo(record);
  return {
    format: TRACE_FILE_FORMAT,
    clip: record.clipPath,
    model: record.modelPath,
    config: record.config,
    sampleRateHz: record.sampleRateHz,
    startSample: record.startSample,
    sampleCount: record.sampleCount,
    startSec: record.startSample / record.sampleRateHz,
    durationSec: record.sampleCount / record.sampleRateHz,
    hopSamples: record.hopSamples,
    rows,
    channels: record.channels,
    layers: record.layers.length,
    layerInfo,
    windows: record.windows,
  };
}

/** Writes through a temporary file renamed at the end, so a failed write leaves no partial file. */
async function writeStreamAtomically(path: string, body: (write: (chunk: string) => Promise<void>) => Promise<void>): Promise<void> {
  const temporaryPath = `${path}.${process.pid}.tmp`;
  const stream = createWriteStream(temporaryPath);
  const failed = once(stream, 'error').then(([error]) => {
    throw error;
  });
  const writeChunk = async (chunk: string) => {
    if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
  };
  try {
    await Promise.race([body(writeChunk), failed]);
    stream.end();
    await Promise.race([once(stream, 'finish'), failed]);
    await rename(temporaryPath, path);
  } catch (error) {
    stream.destroy();
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

/**
 * Writes the record as JSON, streamed row by row because a long span has more values than one
 * JavaScript string can contain. Each trace is an array of rows, each row an array of DI numbers.
 */
export async function writeTraceJson(path: string, record: TraceRecord): Promise<void> {
  const rows = Math.ceil(record.sampleCount / record.hopSamples);
  const time = timeAxis(record);
  const numbers = (values: ArrayLike<number>) => Array.from(values, formatFloat32).join(',');

  await writeStreamAtomically(path, async (write) => {
    const header = JSON.stringify({ ...metadataOf(record, rows), time, peaks: null });
    // Everything up to the peaks comes from JSON.stringify; the large arrays follow by hand.
    await write(header.slice(0, header.lastIndexOf('"peaks":null')));
    await write(`"peaks":{"buckets":${record.peaks.min.length},"framesPerBucket":${record.peaks.framesPerBucket},`);
    await write(`"min":[${numbers(record.peaks.min)}],"max":[${numbers(record.peaks.max)}]},"traces":[`);
    for (const info of layerRowInfo(record)) {
      const { layer, channels } = info;
      await write(`${layer === 0 ? '' : ','}{"layer":${layer},"label":${JSON.stringify(info.label)},"samplesPerRow":${info.samplesPerRow},"channels":${channels}`);
      for (const kind of TRACE_KINDS) {
        const pooled = fileRows(record, info, record.layers[layer][kind]);
        await write(`,"${kind}":[`);
        let chunk = '';
        for (let row = 0; row < info.rows; row++) {
          chunk += `${row === 0 ? '' : ','}[${numbers(pooled.subarray(row * channels, (row + 1) * channels))}]`;
          if (chunk.length > 1 << 20) {
            await write(chunk);
            chunk = '';
          }
        }
        await write(`${chunk}]`);
      }
      await write('}');
    }
    await write(']}\n');
  });
}

/**
 * Returns the record as safetensors: tensors `layers.<i>.<kind>` (rows, DI), with rows and DI
 * per layer as layerInfo lists them, `time.samples`,
 * `time.seconds` (rows) and `peaks.min`, `peaks.max` (buckets), all F32, with the metadata
 * as JSON strings. Sample indices are exact in F32 up to 2^24 (17 minutes at 16 kHz);
 * the metadata's startSample is exact at any length.
 */
export function encodeTraceSafetensors(record: TraceRecord): Uint8Array {
  const rows = Math.ceil(record.sampleCount / record.hopSamples);
  const time = timeAxis(record);
  const tensors = new Map<string, SafetensorsTensor>();
  tensors.set('time.samples', { shape: [rows], data: Float32Array.from(time.samples) });
  tensors.set('time.seconds', { shape: [rows], data: Float32Array.from(time.seconds) });
  tensors.set('peaks.min', { shape: [record.peaks.min.length], data: record.peaks.min });
  tensors.set('peaks.max', { shape: [record.peaks.max.length], data: record.peaks.max });
  for (const info of layerRowInfo(record)) {
    for (const kind of TRACE_KINDS) {
      const data = fileRows(record, info, record.layers[info.layer][kind]);
      tensors.set(`layers.${info.layer}.${kind}`, { shape: [info.rows, info.channels], data });
    }
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadataOf(record, rows))) metadata[key] = typeof value === 'string' ? value : JSON.stringify(value);
  metadata.framesPerBucket = String(record.peaks.framesPerBucket);
  return encodeSafetensors(tensors, metadata);
}
