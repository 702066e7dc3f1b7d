// Pure parts of the Lab view's example: the token row's cells and their layout, and the
// per-position mean of delta. All of them use one horizontal axis with one column per
// token, so the row lines up with the delta heatmaps drawn under it.

import { TokenRole } from '../../gpu/lab/tasks';
import type { LabExampleTrace, SelectivityTrace } from '../engine/protocol';

/** Style of a token cell: highlighted, plain, or dimmed. */
export type TokenEmphasis = 'anchor' | 'special' | 'background';

export interface TokenCell {
  position: number;
  /** Short text drawn in the cell: the data token's id, or one letter for a special token. */
  label: string;
  /** The token's full name, as in TaskVocabulary.names. */
  name: string;
  role: TokenRole;
  emphasis: TokenEmphasis;
  /** Present at the positions the model is scored on. */
  answer?: { expected: string; predicted: string; correct: boolean };
}

const EMPHASIS: Record<TokenRole, TokenEmphasis> = {
  [TokenRole.Memorize]: 'anchor',
  [TokenRole.Key]: 'anchor',
  [TokenRole.Marker]: 'special',
  [TokenRole.Trigger]: 'special',
  [TokenRole.Query]: 'special',
  [TokenRole.Noise]: 'background',
  [TokenRole.Filler]: 'background',
};

/** Short cell text of the special tokens; data tokens show their id. */
const SHORT_NAMES: Record<string, string> = { noise: '·', marker: 'M', trigger: 'T' };

export function shortTokenLabel(name: string): string {
  return SHORT_NAMES[name] ?? name;
}

/** Builds one cell per position of the example. `names` is the task vocabulary's names. */
export function tokenCells(example: LabExampleTrace, names: readonly string[]): TokenCell[] {
  const nameOf = (token: number): string => names[token] ?? `#${token}`;
  return Array.from(example.tokens, (token, position) => {
    const role = example.roles[position] as TokenRole;
    const name = nameOf(token);
    const cell: TokenCell = { position, label: shortTokenLabel(name), name, role, emphasis: EMPHASIS[role] ?? 'background' };
    if (example.answerMask[position] === 1) {
      const expected = example.targets[position]!;
      const predicted = example.predictions[position]!;
      cell.answer = { expected: nameOf(expected), predicted: nameOf(predicted), correct: expected === predicted };
    }
    return cell;
  });
}

export interface TokenRowLayout {
  /** Width of one column in CSS pixels; cell t spans [t * cellWidthPx, (t + 1) * cellWidthPx). */
  cellWidthPx: number;
  /** Whether the cells are wide enough for their text. */
  showLabels: boolean;
}

/** Narrowest cell, in CSS pixels, that still fits a label of two digits. */
export const MIN_LABELLED_CELL_PX = 12;

/**
 * Splits `widthPx` into `length` equal columns, as renderHeatmap maps pixel columns to
 * time steps over the window [0, length), so that token t sits above heatmap step t.
 */
export function layoutTokenRow(length: number, widthPx: number): TokenRowLayout {
  if (length <= 0 || widthPx <= 0) return { cellWidthPx: 0, showLabels: false };
  const cellWidthPx = widthPx / length;
  return { cellWidthPx, showLabels: cellWidthPx >= MIN_LABELLED_CELL_PX };
}

/** Returns the position under x pixels from the row's left edge, or null outside it. */
export function positionAt(length: number, widthPx: number, x: number): number | null {
  if (length <= 0 || widthPx <= 0 || x < 0 || x >= widthPx) return null;
  return Math.min(length - 1, Math.floor((x / widthPx) * length));
}

/** Mean of delta over the channels at each position: (L, channels) time-major to (L). */
export function channelMeanPerStep(delta: Float32Array, channels: number): Float32Array {
  const steps = Math.floor(delta.length / channels);
  const means = new Float32Array(steps);
  for (let t = 0; t < steps; t++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += delta[t * channels + c]!;
    means[t] = sum / channels;
  }
  return means;
}

/**
 * Wraps per-token data as a SelectivityTrace with one sample per step, so the heatmap
 * helpers of lib/heatmap.ts draw it over the window [0, timeSteps) at a rate of 1 Hz.
 */
export function tokenTrace(layer: number, data: Float32Array, channels: number): SelectivityTrace {
  return { layer, kind: 'delta', timeSteps: Math.floor(data.length / channels), channels, samplesPerStep: 1, data };
}
