// Renders the inspector's picture: the waveform on top, a time axis, then per layer one
// heatmap band per trace kind (delta, gate, state norm), with channels down and time
// across. Every band shares the waveform's pixel columns: column c covers the same
// samples as computePeaks' bucket c, so an event lines up vertically through the picture.
//
// Pure: the result is RGBA pixels plus a description of every band (the PNG's sidecar).
import type { Peaks } from '../../audio/peaks';
import { drawText, fillRect, GLYPH_HEIGHT, textWidth, type RgbaImage } from './bitmap-font';
import { writeColor } from './colormap';

export type TraceKind = 'delta' | 'gate' | 'stateNorm';
export const TRACE_KINDS: readonly TraceKind[] = ['delta', 'gate', 'stateNorm'];

/**
 * One layer's traces for a single sequence, each (rows, DI). Row k covers time steps
 * [k * samplesPerRow, (k + 1) * samplesPerRow), so rows = ceil(L / samplesPerRow).
 */
export interface LayerTraceRows {
  delta: Float32Array;
  gate: Float32Array;
  stateNorm: Float32Array;
  /** Channels of this layer when they differ between layers (the levels of a U-Net); default HeatmapInput.channels. */
  channels?: number;
  /** Time steps per row, e.g. the stride of a U-Net level; default 1. */
  samplesPerRow?: number;
  /** Name in band titles, e.g. "center.layers.0"; default "layer i". */
  label?: string;
}

/** Returns the channels of a layer's traces. */
export function layerChannels(layer: LayerTraceRows, fallback: number): number {
  return layer.channels ?? fallback;
}

export interface HeatmapInput {
  /** One min/max bucket per pixel column, from computePeaks over the same samples as the traces. */
  peaks: Peaks;
  layers: LayerTraceRows[];
  /** Time steps L, the rows of every trace whose samplesPerRow is 1. */
  timeSteps: number;
  /** Channels DI, the columns of every trace without its own `channels`. */
  channels: number;
  startSec: number;
  durationSec: number;
  /** First line of the header, e.g. the clip name and the span. */
  title: string;
  /** Pixel rows per channel in each band; default max(1, ceil(64 / channels)). */
  pxPerChannel?: number;
}

/** Position and colour scale of one heatmap band, as written to the PNG's sidecar. */
export interface BandDescription {
  layer: number;
  /** The layer's name in the band title. */
  label: string;
  kind: TraceKind;
  /** Time steps per trace row; above 1 for the inner levels of a U-Net. */
  samplesPerRow: number;
  /** Top pixel row of the heatmap (below its label strip) and its height in pixels. */
  y: number;
  height: number;
  /** Pixel rows per channel; channel 0 is the top row. */
  pxPerChannel: number;
  /** 'log10' when the colour follows log10 of the value (delta), else 'linear'. */
  scale: 'log10' | 'linear';
  /** Values (on `scale`) drawn as the darkest and the brightest colour. */
  low: number;
  high: number;
  /** Smallest and largest pixel value of the band, on `scale`. */
  min: number;
  max: number;
}

export interface HeatmapLayout {
  width: number;
  height: number;
  waveform: { y: number; height: number };
  timeAxis: { y: number; height: number };
  /** Samples (time steps) averaged into one pixel column; below 1 when zoomed in past the samples. */
  samplesPerColumn: number;
  startSec: number;
  durationSec: number;
  normalization: string;
  bands: BandDescription[];
}

export interface HeatmapImage {
  image: RgbaImage;
  layout: HeatmapLayout;
}

/** Rule that maps each band's values to colours, printed in the sidecar. */
export const NORMALIZATION =
  "per band: its own 1st to 99th percentile of the band's pixels maps to dark to bright, values outside are clamped; delta on a log10 scale";

/** Fraction of pixels below `low` and above `high` in each band. */
const CLIP_FRACTION = 0.01;

const HEADER_HEIGHT = 26;
const WAVEFORM_HEIGHT = 120;
const TIME_AXIS_HEIGHT = 16;
const LABEL_HEIGHT = 11;
const LAYER_GAP = 4;

const BACKGROUND: readonly [number, number, number] = [20, 20, 24];
const WAVEFORM_BACKGROUND: readonly [number, number, number] = [32, 34, 40];
const WAVEFORM_COLOR: readonly [number, number, number] = [170, 200, 230];
const CENTER_LINE: readonly [number, number, number] = [70, 74, 84];
const TEXT_COLOR: readonly [number, number, number] = [225, 225, 225];
const DIM_TEXT: readonly [number, number, number] = [150, 150, 160];

const KIND_TITLES: Record<TraceKind, string> = { delta: 'delta', gate: 'gate silu(z)', stateNorm: 'state norm |h|' };

/**
 * Returns the rows [from, to) of pixel column `column` out of `columns` over `rows` rows,
 * the same split as computePeaks: a column left empty when zoomed in takes the row at its start.
 */
export function columnRows(column: number, columns: number, rows: number): [number, number] {
  const from = Math.floor((column * rows) / columns);
  let to = Math.floor(((column + 1) * rows) / columns);
  if (to === from) to = Math.min(rows, from + 1);
  return [from, to];
}

/**
 * Returns the mean of each channel over each pixel column's rows, as (columns, channels).
 * With samplesPerRow > 1 the columns split `timeSteps` time steps, and a column averages
 * the rows that cover its time steps, so coarse rows line up with the time axis.
 */
export function columnMeans(trace: Float32Array, rows: number, channels: number, columns: number, samplesPerRow = 1, timeSteps = rows * samplesPerRow): Float32Array {
  if (trace.length !== rows * channels) throw new RangeError(`columnMeans: ${trace.length} values are not ${rows} rows of ${channels} channels`);
  if (rows !== Math.ceil(timeSteps / samplesPerRow)) throw new RangeError(`columnMeans: ${rows} rows of ${samplesPerRow} time steps do not cover ${timeSteps} time steps`);
  const means = new Float32Array(columns * channels);
  const sums = new Float64Array(channels);
  for (let column = 0; column < columns; column++) {
    const [firstStep, endStep] = columnRows(column, columns, timeSteps);
    const from = Math.floor(firstStep / samplesPerRow);
    const to = Math.max(from + 1, Math.ceil(endStep / samplesPerRow));
    sums.fill(0);
    for (let row = from; row < to; row++) {
      const offset = row * channels;
      for (let channel = 0; channel < channels; channel++) sums[channel] += trace[offset + channel];
    }
    const count = Math.max(1, to - from);
    for (let channel = 0; channel < channels; channel++) means[column * channels + channel] = sums[channel] / count;
  }
  return means;
}

/**
 * Returns the values at the `fraction` and `1 - fraction` quantiles of the finite values
 * (nearest rank), and the minimum and maximum. All four are NaN when no value is finite.
 */
export function robustRange(values: Float32Array, fraction: number): { low: number; high: number; min: number; max: number } {
  const finite = values.filter((value) => Number.isFinite(value)).sort();
  if (finite.length === 0) return { low: NaN, high: NaN, min: NaN, max: NaN };
  const last = finite.length - 1;
  return {
    low: finite[Math.round(fraction * last)],
    high: finite[Math.round((1 - fraction) * last)],
    min: finite[0],
    max: finite[last],
  };
}

/** Formats a number with 3 significant digits, in exponent form when very small or large. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

/** Picks a tick spacing in seconds from 1, 2, 5 times a power of ten, at least minSpacingSec. */
export function tickStepSec(minSpacingSec: number): number {
  const power = 10 ** Math.floor(Math.log10(minSpacingSec));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= minSpacingSec) return factor * power;
  return 10 * power;
}

/** Computes the band positions for an image of the given width. */
function planLayout(input: HeatmapInput, width: number): HeatmapLayout {
  const bands: BandDescription[] = [];
  let y = HEADER_HEIGHT + WAVEFORM_HEIGHT + TIME_AXIS_HEIGHT;
  for (let layer = 0; layer < input.layers.length; layer++) {
    const channels = layerChannels(input.layers[layer], input.channels);
    const pxPerChannel = input.pxPerChannel ?? Math.max(1, Math.ceil(64 / channels));
    const bandHeight = channels * pxPerChannel;
    y += LAYER_GAP;
    for (const kind of TRACE_KINDS) {
      y += LABEL_HEIGHT;
      const { label = `layer ${layer}`, samplesPerRow = 1 } = input.layers[layer];
      bands.push({ layer, label, kind, samplesPerRow, y, height: bandHeight, pxPerChannel, scale: kind === 'delta' ? 'log10' : 'linear', low: NaN, high: NaN, min: NaN, max: NaN });
      y += bandHeight;
    }
  }
  return {
    width,
    height: y + LAYER_GAP,
    waveform: { y: HEADER_HEIGHT, height: WAVEFORM_HEIGHT },
    timeAxis: { y: HEADER_HEIGHT + WAVEFORM_HEIGHT, height: TIME_AXIS_HEIGHT },
    samplesPerColumn: input.timeSteps / width,
    startSec: input.startSec,
    durationSec: input.durationSec,
    normalization: NORMALIZATION,
    bands,
  };
}

function drawWaveform(image: RgbaImage, peaks: Peaks, top: number, height: number): void {
  fillRect(image, 0, top, image.width, height, WAVEFORM_BACKGROUND);
  const middle = top + (height - 1) / 2;
  fillRect(image, 0, Math.round(middle), image.width, 1, CENTER_LINE);
  // Samples are peak-normalised to [-1, 1], so +1 maps to the top row and -1 to the bottom row.
  const yOf = (value: number) => Math.round(middle - (Math.max(-1, Math.min(1, value)) * (height - 1)) / 2);
  for (let x = 0; x < image.width; x++) {
    const yTop = yOf(peaks.max[x]);
    const yBottom = yOf(peaks.min[x]);
    fillRect(image, x, yTop, 1, yBottom - yTop + 1, WAVEFORM_COLOR);
  }
}

function drawTimeAxis(image: RgbaImage, startSec: number, durationSec: number, top: number): void {
  if (!(durationSec > 0)) return;
  const label = (timeSec: number, step: number) => `${timeSec.toFixed(Math.max(0, -Math.floor(Math.log10(step))))} s`;
  const step = tickStepSec((durationSec * 90) / image.width);
  const first = Math.ceil(startSec / step - 1e-9) * step;
  for (let timeSec = first; timeSec <= startSec + durationSec + 1e-9; timeSec += step) {
    const x = Math.round(((timeSec - startSec) / durationSec) * (image.width - 1));
    fillRect(image, x, top, 1, 4, DIM_TEXT);
    const text = label(timeSec, step);
    const left = Math.min(image.width - textWidth(text), Math.max(0, x - textWidth(text) / 2));
    drawText(image, text, left, top + 6, DIM_TEXT);
  }
}

function drawLegend(image: RgbaImage, input: HeatmapInput, samplesPerColumn: number): void {
  drawText(image, input.title, 4, 3, TEXT_COLOR);
  const barWidth = 100;
  for (let x = 0; x < barWidth; x++) {
    for (let y = 0; y < GLYPH_HEIGHT; y++) writeColor(image.data, ((15 + y) * image.width + 4 + x) * 4, x / (barWidth - 1));
  }
  const columnText = samplesPerColumn >= 1 ? `pixel = mean of ${formatValue(samplesPerColumn)} samples` : 'pixel = nearest sample';
  const legend = `colour: each band's 1st..99th percentile (delta: log10); ${columnText}; channel 0 at top`;
  drawText(image, legend, 4 + barWidth + 6, 15, DIM_TEXT);
}

/**
 * Paints one band: the column means of a trace, normalised to the band's own percentile
 * range. Fills in the band's low, high, min and max.
 */
function drawBand(image: RgbaImage, band: BandDescription, input: HeatmapInput): void {
  const layer = input.layers[band.layer];
  const trace = layer[band.kind];
  const channels = layerChannels(layer, input.channels);
  const samplesPerRow = layer.samplesPerRow ?? 1;
  const means = columnMeans(trace, trace.length / channels, channels, image.width, samplesPerRow, input.timeSteps);
  if (band.scale === 'log10') for (let i = 0; i < means.length; i++) means[i] = Math.log10(means[i]);
  const range = robustRange(means, CLIP_FRACTION);
  Object.assign(band, range);
  const span = range.high - range.low;

  for (let x = 0; x < image.width; x++) {
    for (let channel = 0; channel < channels; channel++) {
      const value = means[x * channels + channel];
      // A constant band is drawn in the middle colour, and a non-finite value in the warning colour.
      let t = 0.5;
      if (!Number.isFinite(value)) t = NaN;
      else if (span > 0) t = (value - range.low) / span;
      for (let row = 0; row < band.pxPerChannel; row++) {
        writeColor(image.data, ((band.y + channel * band.pxPerChannel + row) * image.width + x) * 4, t);
      }
    }
  }

  const title = `${band.label} ${KIND_TITLES[band.kind]}${band.scale === 'log10' ? ' (log10)' : ''}`;
  const rangeText = `dark ${formatValue(range.low)}  bright ${formatValue(range.high)}  (min ${formatValue(range.min)}, max ${formatValue(range.max)})`;
  drawText(image, title, 4, band.y - LABEL_HEIGHT + 2, TEXT_COLOR);
  drawText(image, rangeText, 4 + textWidth(title) + 18, band.y - LABEL_HEIGHT + 2, DIM_TEXT);
}

/** Renders the waveform, the time axis and every layer's bands into an image `width` pixels wide. */
export function renderInspection(input: HeatmapInput, width: number): HeatmapImage {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`renderInspection: width must be a positive integer, got ${width}`);
  if (input.peaks.min.length !== width) throw new RangeError(`renderInspection: ${input.peaks.min.length} peak buckets for an image ${width} pixels wide`);
  const layout = planLayout(input, width);
  const image: RgbaImage = { width, height: layout.height, data: new Uint8Array(width * layout.height * 4) };
  fillRect(image, 0, 0, width, layout.height, BACKGROUND);

  drawLegend(image, input, layout.samplesPerColumn);
  drawWaveform(image, input.peaks, layout.waveform.y, layout.waveform.height);
  drawTimeAxis(image, input.startSec, input.durationSec, layout.timeAxis.y);
  for (const band of layout.bands) drawBand(image, band, input);
  return { image, layout };
}
