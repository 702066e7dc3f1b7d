// Training and validation loss against the step, drawn on a canvas. The Lab view reuses it
// for its training loss with its own legend.

import { useEffect, useRef } from 'react';

import { linearScale, niceTicks, paddedExtent } from '../lib/chart-scale';
import type { LossPoint } from '../state/train-store';
import { useElementSize } from './use-element-size';

export const LOSS_COLORS = { train: '#6aa8ff', validation: '#ffb454', grid: '#262b33', axis: '#8a93a3' } as const;

/** Plot margins in CSS pixels; the top margin contains the legend, so it never covers a curve. */
const MARGIN = { left: 52, right: 16, top: 30, bottom: 28 };

export interface LossChartLegend {
  train: string;
  /** Legend of the validation line, or null to leave it out of the legend. */
  validation: string | null;
  unit: string;
  /** Text shown while there are no points. */
  empty: string;
}

const FINE_TUNING_LEGEND: LossChartLegend = {
  train: 'training loss',
  validation: 'validation loss',
  unit: 'nats / sample',
  empty: 'The loss curves appear here once training runs.',
};

export function LossChart({ history, testId, legend = FINE_TUNING_LEGEND }: { history: readonly LossPoint[]; testId?: string; legend?: LossChartLegend }) {
  const frameRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { widthPx, heightPx } = useElementSize(frameRef);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || widthPx === 0 || heightPx === 0) return;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(widthPx * ratio);
    canvas.height = Math.round(heightPx * ratio);
    const context = canvas.getContext('2d');
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, widthPx, heightPx);
    drawChart(context, history, widthPx, heightPx);
  }, [history, widthPx, heightPx]);

  return (
    <div className="chart" ref={frameRef} data-testid={testId}>
      <canvas ref={canvasRef} style={{ width: `${widthPx}px`, height: `${heightPx}px` }} />
      {history.length === 0 && <div className="chart-empty">{legend.empty}</div>}
      <div className="chart-legend">
        <span style={{ color: LOSS_COLORS.train }}>● {legend.train}</span>
        {legend.validation !== null && <span style={{ color: LOSS_COLORS.validation }}>● {legend.validation}</span>}
        <span className="muted">{legend.unit}</span>
      </div>
    </div>
  );
}

function drawChart(context: CanvasRenderingContext2D, history: readonly LossPoint[], widthPx: number, heightPx: number): void {
  const plotLeft = MARGIN.left;
  const plotRight = widthPx - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = heightPx - MARGIN.bottom;

  const steps = history.map((point) => point.step);
  const losses = history.flatMap((point) => [point.loss, point.valLoss].filter((value): value is number => typeof value === 'number'));
  const stepExtent: [number, number] = steps.length > 0 ? [Math.min(...steps), Math.max(...steps, Math.min(...steps) + 1)] : [0, 100];
  const lossExtent = paddedExtent(losses) ?? [0, 6];
  const x = linearScale(stepExtent, [plotLeft, plotRight]);
  const y = linearScale(lossExtent, [plotBottom, plotTop]);

  context.font = '11px system-ui, sans-serif';
  context.lineWidth = 1;
  context.strokeStyle = LOSS_COLORS.grid;
  context.fillStyle = LOSS_COLORS.axis;
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const tick of niceTicks(lossExtent[0], lossExtent[1], 5)) {
    const py = Math.round(y.toPixel(tick)) + 0.5;
    context.beginPath();
    context.moveTo(plotLeft, py);
    context.lineTo(plotRight, py);
    context.stroke();
    context.fillText(String(tick), plotLeft - 6, py);
  }
  context.textAlign = 'center';
  context.textBaseline = 'top';
  for (const tick of niceTicks(stepExtent[0], stepExtent[1], 6)) {
    context.fillText(String(tick), x.toPixel(tick), plotBottom + 8);
  }
  context.strokeStyle = LOSS_COLORS.axis;
  context.strokeRect(plotLeft + 0.5, plotTop + 0.5, plotRight - plotLeft, plotBottom - plotTop);

  const training = history.filter((point): point is LossPoint & { loss: number } => point.loss !== null);
  drawLine(context, training.map((point) => [x.toPixel(point.step), y.toPixel(point.loss)]), LOSS_COLORS.train);
  const validation = history.filter((point) => point.valLoss !== undefined);
  const validationPixels = validation.map((point): [number, number] => [x.toPixel(point.step), y.toPixel(point.valLoss!)]);
  drawLine(context, validationPixels, LOSS_COLORS.validation);
  context.fillStyle = LOSS_COLORS.validation;
  for (const [px, py] of validationPixels) {
    context.beginPath();
    context.arc(px, py, 2.5, 0, Math.PI * 2);
    context.fill();
  }
}

function drawLine(context: CanvasRenderingContext2D, points: ReadonlyArray<readonly [number, number]>, color: string): void {
  if (points.length < 2) return;
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.beginPath();
  points.forEach(([px, py], index) => (index === 0 ? context.moveTo(px, py) : context.lineTo(px, py)));
  context.stroke();
  context.lineWidth = 1;
}
