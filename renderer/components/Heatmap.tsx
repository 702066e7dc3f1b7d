// Heatmap of one selectivity trace (time x channel), drawn for the same time window as
// the waveform above it, with the playback cursor and a hover readout.

import { useEffect, useMemo, useRef, useState } from 'react';

import type { SelectivityTrace } from '../engine/protocol';
import { cellAt, colorFor, renderHeatmap, valueRange, type TimeWindow } from '../lib/heatmap';
import { useElementSize } from './use-element-size';

export interface HeatmapProps {
  trace: SelectivityTrace | null;
  sampleRateHz: number;
  /** Visible window in seconds of the trace's own time axis. */
  window: TimeWindow;
  cursorSec: number | null;
  heightPx?: number;
  testId?: string;
}

interface Readout {
  timeSec: number;
  timeStep: number;
  channel: number;
  value: number;
}

export function Heatmap({ trace, sampleRateHz, window, cursorSec, heightPx = 180, testId }: HeatmapProps) {
  const frameRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { widthPx } = useElementSize(frameRef);
  const [readout, setReadout] = useState<Readout | null>(null);
  const range = useMemo((): [number, number] => (trace ? valueRange(trace.data) : [0, 1]), [trace]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !trace || widthPx === 0) return;
    canvas.width = widthPx;
    canvas.height = heightPx;
    const context = canvas.getContext('2d');
    if (!context) return;
    context.putImageData(new ImageData(renderHeatmap(trace, sampleRateHz, window, widthPx, heightPx, range), widthPx, heightPx), 0, 0);
  }, [trace, sampleRateHz, window, widthPx, heightPx, range]);

  const onPointerMove = (event: React.PointerEvent<HTMLCanvasElement>): void => {
    if (!trace) return;
    const bounds = event.currentTarget.getBoundingClientRect();
    setReadout(cellAt(trace, sampleRateHz, window, bounds.width, bounds.height, event.clientX - bounds.left, event.clientY - bounds.top));
  };

  const span = window.endSec - window.startSec;
  const cursorLeft = cursorSec !== null && span > 0 ? ((cursorSec - window.startSec) / span) * 100 : null;

  return (
    <div className="heatmap" ref={frameRef} data-testid={testId} style={{ height: `${heightPx + 28}px` }}>
      {trace ? (
        <>
          <div className="heatmap-plot" style={{ height: `${heightPx}px` }}>
            <canvas ref={canvasRef} style={{ width: '100%', height: `${heightPx}px` }} onPointerMove={onPointerMove} onPointerLeave={() => setReadout(null)} />
            <span className="heatmap-axis heatmap-axis-top">channel 0</span>
            <span className="heatmap-axis heatmap-axis-bottom">channel {trace.channels - 1}</span>
            {cursorLeft !== null && cursorLeft >= 0 && cursorLeft <= 100 && <div className="heatmap-cursor" style={{ left: `${cursorLeft}%` }} />}
          </div>
          <div className="heatmap-footer">
            <ColorBar min={range[0]} max={range[1]} />
            <span className="heatmap-readout" data-testid="heatmap-readout">
              {readout
                ? `t ${readout.timeSec.toFixed(4)} s (step ${readout.timeStep}) · channel ${readout.channel} · ${readout.value.toPrecision(4)}`
                : `${trace.timeSteps.toLocaleString('en-US')} steps × ${trace.channels} channels, hover for values`}
            </span>
          </div>
        </>
      ) : (
        <div className="heatmap-empty">No trace to show. Run an inspection on a clip to see where the model's selectivity opens and closes.</div>
      )}
    </div>
  );
}

function ColorBar({ min, max }: { min: number; max: number }) {
  const stops = Array.from({ length: 8 }, (_, index) => {
    const [r, g, b] = colorFor(index / 7);
    return `rgb(${r}, ${g}, ${b}) ${(index / 7) * 100}%`;
  });
  return (
    <span className="colorbar">
      <span>{min.toPrecision(3)}</span>
      <span className="colorbar-gradient" style={{ background: `linear-gradient(90deg, ${stops.join(', ')})` }} />
      <span>{max.toPrecision(3)}</span>
    </span>
  );
}
