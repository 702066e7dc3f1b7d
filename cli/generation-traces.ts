// Selectivity traces recorded while generating: `mamba-audio generate --traces`. The
// generator hands over each chunk's traces (gpu/generate/generator.ts, ChunkTraces), and
// this recorder averages the first stream's values into rows of `hopSamples` samples as
// they arrive, so memory depends on the row count, not on the length of the audio.
//
// A flat model has one trace row per sample. A U-Net block at a level with stride r steps
// once per r samples, on the sample that fills the level's down buffer. Its row then
// describes the r samples that buffer collected, [f - r + 1, f] for a step on sample f, as
// a forward pass over the same audio would. Each of those samples gets the row's values
// before the hop pooling, so every layer ends up on the same sample grid.
import type { ChunkTraces } from '../gpu/generate/generator';
import type { ModelConfig } from '../gpu/model/config';
import { tracedBlocks, type TracedBlock } from '../gpu/model/sashimi-config';
import { TRACE_KINDS, type LayerTraceRows } from './render/heatmap';

/** Most numbers kept for all layers and kinds together by default: 64 MiB of float32. */
export const DEFAULT_MAX_TRACE_VALUES = 16 * 2 ** 20;

/** Returns the smallest hop that keeps the traces of `samples` samples under `maxValues` numbers. */
export function defaultTraceHop(config: ModelConfig, samples: number, maxValues = DEFAULT_MAX_TRACE_VALUES): number {
  const channels = tracedBlocks(config).reduce((sum, layer) => sum + layer.channels, 0);
  return Math.max(1, Math.ceil((samples * channels * TRACE_KINDS.length) / maxValues));
}

export class GenerationTraceRecorder {
  private readonly layers: TracedBlock[];
  private readonly rows: number;
  /** Per layer and kind, (rows, channels) sums of per-sample values. */
  private readonly sums: Float64Array[][];
  /** Per layer, the samples added to each row. */
  private readonly counts: Uint32Array[];

  constructor(
    config: ModelConfig,
    /** Samples the generation produces. */
    readonly samples: number,
    readonly hopSamples: number,
    /** Streams in each chunk's traces; the first one is recorded. */
    private readonly batch: number,
  ) {
    if (!Number.isInteger(hopSamples) || hopSamples < 1) throw new RangeError(`trace hop ${hopSamples} must be a positive integer`);
    this.layers = tracedBlocks(config);
    this.rows = Math.ceil(samples / hopSamples);
    this.sums = this.layers.map((layer) => TRACE_KINDS.map(() => new Float64Array(this.rows * layer.channels)));
    this.counts = this.layers.map(() => new Uint32Array(this.rows));
  }

  /**
   * Adds one chunk's traces. `start` is the chunk's first sample and `length` its samples.
   * Steps at samples past `samples` (none unless the caller passes more) are ignored.
   */
  add(traces: ChunkTraces, start: number, length: number): void {
    if (traces.delta.length !== this.layers.length) throw new Error(`generation traces: ${traces.delta.length} layers in a chunk, expected ${this.layers.length}`);
    this.layers.forEach((layer, index) => {
      const { channels, stride } = layer;
      const stepSamples = traces.stepSamples?.[index] ?? null;
      const steps = stepSamples ? stepSamples.length : length;
      for (let step = 0; step < steps; step++) {
        const fired = start + (stepSamples ? stepSamples[step] : step);
        // Row `step` of the chunk, stream 0: (rows, B, channels) time-major.
        const source = step * this.batch * channels;
        for (let sample = Math.max(0, fired - stride + 1); sample <= fired && sample < this.samples; sample++) {
          const row = Math.floor(sample / this.hopSamples);
          TRACE_KINDS.forEach((kind, k) => {
            const values = traces[kind][index];
            const sums = this.sums[index][k];
            for (let c = 0; c < channels; c++) sums[row * channels + c] += values[source + c];
          });
          this.counts[index][row]++;
        }
      }
    });
  }

  /** Returns the mean of each row per layer, in the form the trace file and the PNG take. A row with no samples is 0. */
  result(): LayerTraceRows[] {
    return this.layers.map((layer, index) => {
      const means = TRACE_KINDS.map((_, k) => {
        const out = new Float32Array(this.rows * layer.channels);
        const sums = this.sums[index][k];
        for (let row = 0; row < this.rows; row++) {
          const count = this.counts[index][row];
          if (count === 0) continue;
          for (let c = 0; c < layer.channels; c++) out[row * layer.channels + c] = sums[row * layer.channels + c] / count;
        }
        return out;
      });
      return { delta: means[0], gate: means[1], stateNorm: means[2], channels: layer.channels, samplesPerRow: this.hopSamples, label: layer.name };
    });
  }
}
