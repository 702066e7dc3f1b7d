// Pure parts of the selectivity heatmap: value range, colour map and the mapping between
// canvas pixels and (time step, channel) cells of a SelectivityTrace.

import type { SelectivityTrace } from '../engine/protocol';

export interface TimeWindow {
  /** Visible time range in seconds of the inspected clip, as the waveform shows it. */
  startSec: number;
  endSec: number;
}

/** Returns the minimum and maximum of the finite values, or [0, 1] when there are none. */
export function valueRange(data: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    if (!Number.isFinite(value)) continue;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return min === Infinity ? [0, 1] : [min, max];
}

/**
 * Stops of a perceptually ordered dark-to-bright map (dark blue, violet, orange, pale
 * yellow), interpolated linearly in RGB. Written for this app, in the spirit of magma.
 */
const COLOR_STOPS: ReadonlyArray<readonly [number, number, number]> = [
  [8, 10, 30],
  [46, 22, 92],
  [118, 36, 120],
  [190, 58, 100],
  [238, 112, 62],
  [250, 190, 90],
  [252, 246, 190],
];

/** Returns the RGB colour for `t` in [0, 1]. Values outside are clamped, and NaN is black. */
export function colorFor(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [0, 0, 0];
  const clamped = Math.min(1, Math.max(0, t));
  const position = clamped * (COLOR_STOPS.length - 1);
  const index = Math.min(COLOR_STOPS.length - 2, Math.floor(position));
  const fraction = position - index;
  const a = COLOR_STOPS[index]!;
  const b = COLOR_STOPS[index + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * fraction)) as [number, number, number];
}

/** Seconds covered by one time step of the trace. */
export function secondsPerStep(trace: SelectivityTrace, sampleRateHz: number): number {
  return trace.samplesPerStep / sampleRateHz;
}

/**
 * Returns the cell under canvas pixel (x, y), or null outside the trace. Columns span the
 * time window left to right; rows are channels, channel 0 at the top.
 */
export function cellAt(
  trace: SelectivityTrace,
  sampleRateHz: number,
  window: TimeWindow,
  widthPx: number,
  heightPx: number,
  x: number,
  y: number,
): { timeStep: number; channel: number; timeSec: number; value: number } | null {
  if (widthPx <= 0 || heightPx <= 0 || x < 0 || y < 0 || x >= widthPx || y >= heightPx) return null;
  const timeSec = window.startSec + (x / widthPx) * (window.endSec - window.startSec);
  const timeStep = Math.floor(timeSec / secondsPerStep(trace, sampleRateHz));
  const channel = Math.floor((y / heightPx) * trace.channels);
  if (timeStep < 0 || timeStep >= trace.timeSteps || channel >= trace.channels) return null;
  return { timeStep, channel, timeSec, value: trace.data[timeStep * trace.channels + channel]! };
}

/**
 * Paints the visible window of a trace into RGBA pixels, one canvas column at a time.
 * Each column shows the time step under its centre (nearest neighbour, no averaging), so a
 * single sharp step stays visible when zoomed in and aliases when zoomed far out.
 */
export function renderHeatmap(
  trace: SelectivityTrace,
  sampleRateHz: number,
  window: TimeWindow,
  widthPx: number,
  heightPx: number,
  range: readonly [number, number],
): Uint8ClampedArray<ArrayBuffer> {
  const pixels = new Uint8ClampedArray(widthPx * heightPx * 4);
  const stepSec = secondsPerStep(trace, sampleRateHz);
  const span = range[1] - range[0] || 1;
  for (let x = 0; x < widthPx; x++) {
    const timeSec = window.startSec + ((x + 0.5) / widthPx) * (window.endSec - window.startSec);
    const timeStep = Math.floor(timeSec / stepSec);
    const inside = timeStep >= 0 && timeStep < trace.timeSteps;
    for (let y = 0; y < heightPx; y++) {
      const offset = (y * widthPx + x) * 4;
      if (!inside) {
        pixels[offset + 3] = 0;
        continue;
      }
      const channel = Math.min(trace.channels - 1, Math.floor(((y + 0.5) / heightPx) * trace.channels));
      const value = trace.data[timeStep * trace.channels + channel]!;
      const [r, g, b] = colorFor((value - range[0]) / span);
      pixels[offset] = r;
      pixels[offset + 1] = g;
      pixels[offset + 2] = b;
      pixels[offset + 3] = 255;
    }
  }
  return pixels;
}
