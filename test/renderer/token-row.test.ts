// The Lab view's token row: cell labels and emphasis, and the layout that puts token t
// above column t of the delta heatmaps.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TokenRole } from '../../gpu/lab/tasks';
import type { LabExampleTrace } from '../../renderer/engine/protocol';
import { colorFor, renderHeatmap } from '../../renderer/lib/heatmap';
import { channelMeanPerStep, layoutTokenRow, MIN_LABELLED_CELL_PX, positionAt, shortTokenLabel, tokenCells, tokenTrace } from '../../renderer/lib/token-row';

const NAMES = ['0', '1', '2', '3', 'noise', 'marker'];

function copyingExample(): LabExampleTrace {
  // noise, 2, noise, 0, marker, marker: the markers must output 2 then 0.
  return {
    tokens: Uint32Array.from([4, 2, 4, 0, 5, 5]),
    roles: Uint8Array.from([TokenRole.Noise, TokenRole.Memorize, TokenRole.Noise, TokenRole.Memorize, TokenRole.Marker, TokenRole.Marker]),
    targets: Uint32Array.from([0, 0, 0, 0, 2, 0]),
    answerMask: Float32Array.from([0, 0, 0, 0, 1, 1]),
    predictions: Uint32Array.from([4, 4, 4, 4, 2, 3]),
    channels: 2,
    delta: [Float32Array.from({ length: 12 }, (_, i) => i)],
  };
}

test('tokenCells labels and highlights roles', () => {
  const cells = tokenCells(copyingExample(), NAMES);
  assert.equal(cells.length, 6);
  assert.deepEqual(cells.map((cell) => cell.label), ['·', '2', '·', '0', 'M', 'M']);
  assert.deepEqual(cells.map((cell) => cell.emphasis), ['background', 'anchor', 'background', 'anchor', 'special', 'special']);
  assert.deepEqual(cells.map((cell) => cell.position), [0, 1, 2, 3, 4, 5]);
  assert.equal(cells[0]!.name, 'noise');
  assert.equal(cells[1]!.answer, undefined);
});

test('tokenCells marks right and wrong answers', () => {
  const cells = tokenCells(copyingExample(), NAMES);
  assert.deepEqual(cells[4]!.answer, { expected: '2', predicted: '2', correct: true });
  assert.deepEqual(cells[5]!.answer, { expected: '0', predicted: '3', correct: false });
});

test('tokenCells for induction heads', () => {
  const example: LabExampleTrace = {
    tokens: Uint32Array.from([1, 4, 3, 0, 4]),
    roles: Uint8Array.from([TokenRole.Filler, TokenRole.Trigger, TokenRole.Key, TokenRole.Filler, TokenRole.Query]),
    targets: Uint32Array.from([0, 0, 0, 0, 3]),
    answerMask: Float32Array.from([0, 0, 0, 0, 1]),
    predictions: Uint32Array.from([0, 0, 0, 0, 3]),
    channels: 1,
    delta: [new Float32Array(5)],
  };
  const cells = tokenCells(example, ['0', '1', '2', '3', 'trigger']);
  assert.deepEqual(cells.map((cell) => cell.label), ['1', 'T', '3', '0', 'T']);
  assert.deepEqual(cells.map((cell) => cell.emphasis), ['background', 'special', 'anchor', 'background', 'special']);
  assert.equal(cells[4]!.answer?.correct, true);
});

test('shortTokenLabel and unknown ids', () => {
  assert.equal(shortTokenLabel('noise'), '·');
  assert.equal(shortTokenLabel('marker'), 'M');
  assert.equal(shortTokenLabel('trigger'), 'T');
  assert.equal(shortTokenLabel('12'), '12');
  const example = { ...copyingExample(), tokens: Uint32Array.from([9, 2, 4, 0, 5, 5]) };
  assert.equal(tokenCells(example, NAMES)[0]!.name, '#9');
});

test('layoutTokenRow splits the width evenly', () => {
  assert.deepEqual(layoutTokenRow(18, 540), { cellWidthPx: 30, showLabels: true });
  const narrow = layoutTokenRow(68, 500);
  assert.ok(Math.abs(narrow.cellWidthPx * 68 - 500) < 1e-9);
  assert.equal(narrow.showLabels, narrow.cellWidthPx >= MIN_LABELLED_CELL_PX);
  assert.equal(narrow.showLabels, false);
  assert.deepEqual(layoutTokenRow(0, 500), { cellWidthPx: 0, showLabels: false });
  assert.deepEqual(layoutTokenRow(10, 0), { cellWidthPx: 0, showLabels: false });
});

test('positionAt maps pixels to positions', () => {
  assert.equal(positionAt(4, 100, 0), 0);
  assert.equal(positionAt(4, 100, 24.9), 0);
  assert.equal(positionAt(4, 100, 25), 1);
  assert.equal(positionAt(4, 100, 99.9), 3);
  assert.equal(positionAt(4, 100, 100), null);
  assert.equal(positionAt(4, 100, -1), null);
  assert.equal(positionAt(0, 100, 5), null);
});

test('token columns line up with heatmap columns', () => {
  // One channel whose value is the position, so each canvas column's colour names the position drawn there.
  for (const [length, widthPx] of [
    [18, 537],
    [68, 480],
    [20, 20],
    [7, 1000],
  ] as const) {
    const trace = tokenTrace(0, Float32Array.from({ length }, (_, t) => t), 1);
    const pixels = renderHeatmap(trace, 1, { startSec: 0, endSec: length }, widthPx, 1, [0, length - 1]);
    const layout = layoutTokenRow(length, widthPx);
    for (let x = 0; x < widthPx; x++) {
      const position = positionAt(length, widthPx, x + 0.5)!;
      // The token cell that contains this column's centre is the one drawn above it.
      assert.ok(position * layout.cellWidthPx <= x + 0.5, `L ${length}, width ${widthPx}, column ${x}: cell ${position} starts right of it`);
      assert.ok(x + 0.5 < (position + 1) * layout.cellWidthPx, `L ${length}, width ${widthPx}, column ${x}: cell ${position} ends left of it`);
      const expected = colorFor(position / (length - 1));
      assert.deepEqual([pixels[x * 4], pixels[x * 4 + 1], pixels[x * 4 + 2]], expected, `L ${length}, width ${widthPx}, column ${x}`);
    }
  }
});

test('channelMeanPerStep averages channels per position', () => {
  const delta = Float32Array.from([1, 3, 2, 2, 0, 10]);
  assert.deepEqual(Array.from(channelMeanPerStep(delta, 2)), [2, 2, 5]);
  assert.deepEqual(Array.from(channelMeanPerStep(delta, 3)), [2, 4]);
  const trace = tokenTrace(1, delta, 2);
  assert.equal(trace.timeSteps, 3);
  assert.equal(trace.channels, 2);
  assert.equal(trace.samplesPerStep, 1);
  assert.equal(trace.layer, 1);
});
