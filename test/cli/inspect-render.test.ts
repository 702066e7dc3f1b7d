// The inspector's pure parts: colour map, pixel columns, window plan, pooling, number
// formatting and the rendered image's layout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { computePeaks } from '../../audio/peaks';
import { planWindows, sidecarPath } from '../../cli/commands/inspect';
import { GLYPH_HEIGHT, textWidth } from '../../cli/render/bitmap-font';
import { COLORMAP_TABLE, NON_FINITE_COLOR, writeColor } from '../../cli/render/colormap';
import { columnMeans, columnRows, formatValue, renderInspection, robustRange, tickStepSec } from '../../cli/render/heatmap';
import { formatFloat32, poolRows, timeAxis } from '../../cli/render/trace-file';

/** CIE L* of an sRGB colour, 0 (black) to 100 (white). */
function lightness(r: number, g: number, b: number): number {
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}

describe('colour map', () => {
  test('lightness rises monotonically', () => {
    const entries = COLORMAP_TABLE.length / 3;
    const values = Array.from({ length: entries }, (_, i) => lightness(COLORMAP_TABLE[3 * i], COLORMAP_TABLE[3 * i + 1], COLORMAP_TABLE[3 * i + 2]));
    // Rounding each channel to 8 bits may lower L* a little between neighbours, far below a visible step (about 1).
    for (let i = 1; i < entries; i++) assert.ok(values[i] > values[i - 1] - 0.1, `entry ${i}: L* ${values[i].toFixed(2)} after ${values[i - 1].toFixed(2)}`);
    // Over 1/8 of the table, the span between two stops, it rises clearly.
    const stride = (entries - 1) / 8;
    for (let i = 0; i + stride < entries; i += stride) {
      assert.ok(values[Math.round(i + stride)] - values[Math.round(i)] > 5, `entries ${Math.round(i)} to ${Math.round(i + stride)}`);
    }
    assert.ok(values[entries - 1] - values[0] > 60, `L* spans ${values[0].toFixed(1)} to ${values[entries - 1].toFixed(1)}`);
  });

  test('clamps and marks NaN', () => {
    const pixels = new Uint8Array(16);
    writeColor(pixels, 0, -5);
    writeColor(pixels, 4, 0);
    writeColor(pixels, 8, 7);
    writeColor(pixels, 12, NaN);
    assert.deepEqual([...pixels.subarray(0, 4)], [...pixels.subarray(4, 8)]);
    assert.deepEqual([...pixels.subarray(8, 11)], [...COLORMAP_TABLE.subarray(COLORMAP_TABLE.length - 3)]);
    assert.deepEqual([...pixels.subarray(12, 15)], [...NON_FINITE_COLOR]);
    assert.equal(pixels[15], 255);
  });
});

describe('heatmap columns', () => {
  test('columns cover the peaks buckets', () => {
    // A ramp makes each bucket's min its first sample and its max its last one.
    for (const [rows, columns] of [[1000, 7], [10, 10], [5, 12], [16000, 1600]]) {
      const ramp = Float32Array.from({ length: rows }, (_, i) => i);
      const peaks = computePeaks(ramp, columns);
      for (let column = 0; column < columns; column++) {
        const [from, to] = columnRows(column, columns, rows);
        assert.equal(peaks.min[column], from, `${rows} rows, ${columns} columns: column ${column} start`);
        assert.equal(peaks.max[column], to - 1, `${rows} rows, ${columns} columns: column ${column} end`);
      }
    }
  });

  test('means per column and channel', () => {
    // 4 rows x 2 channels into 2 columns: rows 0-1 and rows 2-3.
    const trace = Float32Array.from([1, 10, 3, 20, 5, 30, 7, 40]);
    assert.deepEqual([...columnMeans(trace, 4, 2, 2)], [2, 15, 6, 35]);
    assert.throws(() => columnMeans(trace, 3, 2, 2), RangeError);
  });

  test('robust range skips non-finite values', () => {
    const values = Float32Array.from({ length: 101 }, (_, i) => i);
    values[5] = NaN;
    values[6] = Infinity;
    const range = robustRange(values, 0.01);
    assert.equal(range.min, 0);
    assert.equal(range.max, 100);
    assert.equal(range.low, 1);
    assert.equal(range.high, 99);
    assert.ok(Number.isNaN(robustRange(Float32Array.from([NaN]), 0.01).low));
  });

  test('tick steps and value labels', () => {
    assert.equal(tickStepSec(0.03), 0.05);
    assert.equal(tickStepSec(0.1), 0.1);
    assert.equal(tickStepSec(0.11), 0.2);
    assert.equal(tickStepSec(3), 5);
    assert.equal(formatValue(0.012345), '0.0123');
    assert.equal(formatValue(-2.9749), '-2.97');
    assert.equal(formatValue(0.00022), '2.20e-4');
  });
});

describe('rendered image', () => {
  const channels = 4;
  const timeSteps = 50;
  const width = 20;
  const ramp = Float32Array.from({ length: timeSteps * channels }, (_, i) => 0.01 + i / 100);
  const samples = Float32Array.from({ length: timeSteps }, (_, i) => Math.sin(i / 3));
  const input = {
    peaks: computePeaks(samples, width),
    layers: [{ delta: ramp, gate: ramp, stateNorm: new Float32Array(timeSteps * channels).fill(2) }],
    timeSteps,
    channels,
    startSec: 0,
    durationSec: timeSteps / 16000,
    title: 'test',
    pxPerChannel: 3,
  };

  test('layout of bands', () => {
    const { image, layout } = renderInspection(input, width);
    assert.equal(image.width, width);
    assert.equal(image.data.length, width * layout.height * 4);
    assert.deepEqual(layout.bands.map((band) => band.kind), ['delta', 'gate', 'stateNorm']);
    for (const band of layout.bands) assert.equal(band.height, channels * 3);
    assert.equal(layout.bands[0].scale, 'log10');
    assert.equal(layout.bands[1].scale, 'linear');
    assert.equal(layout.samplesPerColumn, timeSteps / width);
  });

  test('gate band brightens along time', () => {
    const { image, layout } = renderInspection(input, width);
    const gate = layout.bands[1];
    const pixel = (x: number, y: number) => [...image.data.subarray((y * width + x) * 4, (y * width + x) * 4 + 3)];
    // The ramp grows along time, so the first column is darkest and the last brightest.
    assert.deepEqual(pixel(0, gate.y), [...COLORMAP_TABLE.subarray(0, 3)]);
    assert.deepEqual(pixel(width - 1, gate.y + gate.height - 1), [...COLORMAP_TABLE.subarray(COLORMAP_TABLE.length - 3)]);
    // A constant band gets the middle colour and equal bounds.
    const norm = layout.bands[2];
    assert.equal(norm.low, 2);
    assert.equal(norm.high, 2);
    assert.deepEqual(pixel(5, norm.y), [...COLORMAP_TABLE.subarray(3 * 128, 3 * 128 + 3)]);
  });

  test('rejects peaks of another width', () => {
    assert.throws(() => renderInspection(input, width + 1), /20 peak buckets for an image 21 pixels wide/);
  });

  test('text metrics', () => {
    assert.equal(textWidth('AB'), 11);
    assert.equal(textWidth(''), 0);
    assert.equal(GLYPH_HEIGHT, 7);
  });
});

describe('trace file helpers', () => {
  test('windows cover the span once', () => {
    assert.deepEqual(planWindows(100, 50, 1000, 10), [{ runFromSample: 100, keepFromSample: 100, endSample: 150 }]);
    assert.deepEqual(planWindows(0, 250, 100, 30), [
      { runFromSample: 0, keepFromSample: 0, endSample: 100 },
      { runFromSample: 70, keepFromSample: 100, endSample: 170 },
      { runFromSample: 140, keepFromSample: 170, endSample: 240 },
      { runFromSample: 210, keepFromSample: 240, endSample: 250 },
    ]);
  });

  test('pooling and time axis', () => {
    const trace = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual([...poolRows(trace, 5, 2, 2)], [2, 3, 6, 7, 9, 10]);
    assert.equal(poolRows(trace, 5, 2, 1), trace);
    assert.deepEqual(timeAxis({ startSample: 32000, sampleCount: 5, hopSamples: 2, sampleRateHz: 16000 }), { samples: [32000, 32002, 32004], seconds: [2, 2.000125, 2.00025] });
  });

  test('float32 text reads back exactly', () => {
    const values = Float32Array.from([0.1, 1 / 3, -2.5e-7, 123456.789, 3.4e38, 1e-45, 0]);
    for (const value of values) {
      const text = formatFloat32(value);
      assert.equal(Math.fround(Number(text)), value, `${value} as ${text}`);
      assert.ok(text.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length <= 9, `${text} has more than 9 digits`);
    }
    assert.equal(formatFloat32(NaN), 'null');
  });

  test('sidecar path', () => {
    assert.equal(sidecarPath('out/clip.png'), 'out/clip.bands.json');
    assert.equal(sidecarPath('a.b.PNG'), 'a.b.bands.json');
  });
});
