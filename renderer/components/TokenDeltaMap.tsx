// The Lab view's example sequence: the input tokens as a row of labelled cells, the
// model's answers under the scored positions, then delta on the same axis, one column per
// token: a strip per layer with the mean over channels, and the full channels x time map
// of one layer. Every row has the same label gutter on its left, so the tracks to its
// right share their width and token t sits above column t.

import { useEffect, useMemo, useRef, useState } from 'react';

import { ROLE_NAMES } from '../../gpu/lab/tasks';
import type { LabRunResult, SelectivityTrace } from '../engine/protocol';
import { colorFor, renderHeatmap, valueRange } from '../lib/heatmap';
import { channelMeanPerStep, layoutTokenRow, positionAt, tokenCells, tokenTrace, type TokenCell } from '../lib/token-row';
import { useElementSize } from './use-element-size';

export interface TokenDeltaMapProps {
  result: LabRunResult;
  /** Model layer drawn as the full channels x time map. */
  mapLayer: number;
  testId?: string;
}

const STRIP_HEIGHT_PX = 18;
const TOKEN_ROW_HEIGHT_PX = 24;

/** Height of the full map: two pixels per channel, kept between 64 and 192. */
function mapHeightPx(channels: number): number {
  return Math.max(64, Math.min(192, channels * 2));
}

const GRADIENT = `linear-gradient(90deg, ${Array.from({ length: 8 }, (_, index) => {
  const [r, g, b] = colorFor(index / 7);
  return `rgb(${r}, ${g}, ${b}) ${(index / 7) * 100}%`;
}).join(', ')})`;

interface Hover {
  position: number;
  /** Channel under the pointer, when it is over the full map. */
  channel: number | null;
}

export function TokenDeltaMap({ result, mapLayer, testId }: TokenDeltaMapProps) {
  const trackRef = useRef<HTMLDivElement>(null);
  const { widthPx } = useElementSize(trackRef);
  const [hover, setHover] = useState<Hover | null>(null);
  const { example, vocabulary } = result;
  const length = example.tokens.length;
  const layer = Math.min(mapLayer, example.delta.length - 1);

  const cells = useMemo(() => tokenCells(example, vocabulary.names), [example, vocabulary]);
  const strips = useMemo(() => example.delta.map((delta, index) => tokenTrace(index, channelMeanPerStep(delta, example.channels), 1)), [example]);
  const map = useMemo(() => tokenTrace(layer, example.delta[layer]!, example.channels), [example, layer]);
  const layout = layoutTokenRow(length, widthPx);
  const mapHeight = mapHeightPx(example.channels);

  const track = (event: React.PointerEvent<HTMLElement>, onMap: boolean): void => {
    const bounds = trackRef.current?.getBoundingClientRect();
    if (!bounds) return;
    const position = positionAt(length, bounds.width, event.clientX - bounds.left);
    if (position === null) {
      setHover(null);
      return;
    }
    let channel: number | null = null;
    if (onMap) {
      const target = event.currentTarget.getBoundingClientRect();
      channel = Math.min(example.channels - 1, Math.max(0, Math.floor(((event.clientY - target.top) / target.height) * example.channels)));
    }
    setHover({ position, channel });
  };

  return (
    <div className="token-map" data-testid={testId} onPointerLeave={() => setHover(null)}>
      <div className="token-map-row">
        <span className="token-map-gutter">tokens</span>
        <div className="token-row" ref={trackRef} role="list" aria-label={`Input tokens, ${length} positions`} style={{ height: `${TOKEN_ROW_HEIGHT_PX}px` }} onPointerMove={(event) => track(event, false)}>
          {cells.map((cell) => (
            <span
              key={cell.position}
              role="listitem"
              className={`token-cell token-${cell.emphasis}${hover?.position === cell.position ? ' token-hover' : ''}`}
              style={{ left: `${cell.position * layout.cellWidthPx}px`, width: `${layout.cellWidthPx}px` }}
              title={cellTitle(cell)}
              aria-label={cellTitle(cell)}
              data-testid="token-cell"
              data-role={ROLE_NAMES[cell.role]}
            >
              {layout.showLabels ? cell.label : ''}
            </span>
          ))}
        </div>
      </div>
      <div className="token-map-row">
        <span className="token-map-gutter">answers</span>
        <div className="token-row answer-row" role="group" aria-label="Model answers at the scored positions" style={{ height: `${TOKEN_ROW_HEIGHT_PX - 6}px` }}>
          {cells
            .filter((cell) => cell.answer)
            .map((cell) => (
              <span
                key={cell.position}
                className={`token-cell answer-cell ${cell.answer!.correct ? 'answer-right' : 'answer-wrong'}`}
                style={{ left: `${cell.position * layout.cellWidthPx}px`, width: `${layout.cellWidthPx}px` }}
                title={`position ${cell.position}: expected ${cell.answer!.expected}, predicted ${cell.answer!.predicted}`}
                data-testid="answer-cell"
              >
                {layout.showLabels ? cell.answer!.predicted : ''}
              </span>
            ))}
        </div>
      </div>

      {strips.map((strip) => (
        <TokenCanvas
          key={strip.layer}
          trace={strip}
          heightPx={STRIP_HEIGHT_PX}
          label={`L${strip.layer} mean`}
          detail={`layer ${strip.layer}, mean over channels`}
          ariaLabel={`Delta of layer ${strip.layer}, mean over ${example.channels} channels, per token`}
          hoverPosition={hover?.position ?? null}
          onPointerMove={(event) => track(event, false)}
          testId={`delta-strip-${strip.layer}`}
        />
      ))}
      <TokenCanvas
        trace={map}
        heightPx={mapHeight}
        label={`L${layer} channels`}
        detail={`layer ${layer}, channels 0 (top) to ${example.channels - 1}`}
        ariaLabel={`Delta of layer ${layer}, ${example.channels} channels by ${length} tokens`}
        hoverPosition={hover?.position ?? null}
        onPointerMove={(event) => track(event, true)}
        testId="delta-map"
      />
      <p className="token-map-readout" data-testid="token-map-readout">
        {hover ? readout(cells[hover.position]!, hover, strips, map) : `${length} tokens × ${example.channels} channels per layer; hover for values.`}
      </p>
      <p className="token-map-legend">
        <span className="colorbar-gradient" style={{ background: GRADIENT }} aria-hidden />
        Each row is coloured from its own minimum (dark) to its maximum (bright); its tooltip gives the range.
      </p>
    </div>
  );
}

/** Names a token with its role, once where the two are the same word ('noise'). */
function describeToken(cell: TokenCell): string {
  const role = ROLE_NAMES[cell.role];
  return cell.name === role ? cell.name : `${cell.name} (${role})`;
}

function cellTitle(cell: TokenCell): string {
  const base = `position ${cell.position}: ${describeToken(cell)}`;
  if (!cell.answer) return base;
  return `${base}; expected ${cell.answer.expected}, predicted ${cell.answer.predicted}`;
}

function readout(cell: TokenCell, hover: Hover, strips: readonly SelectivityTrace[], map: SelectivityTrace): string {
  const means = strips.map((strip) => `layer ${strip.layer} ${strip.data[hover.position]!.toPrecision(3)}`).join(', ');
  const channel = hover.channel === null ? '' : `; layer ${map.layer} channel ${hover.channel}: ${map.data[hover.position * map.channels + hover.channel]!.toPrecision(3)}`;
  return `position ${cell.position}, ${describeToken(cell)}: mean delta ${means}${channel}`;
}

interface TokenCanvasProps {
  trace: SelectivityTrace;
  heightPx: number;
  /** Gutter text; `detail` and the value range go into its tooltip. */
  label: string;
  detail: string;
  ariaLabel: string;
  hoverPosition: number | null;
  onPointerMove(event: React.PointerEvent<HTMLElement>): void;
  testId: string;
}

/** Draws one heatmap canvas over the token axis, coloured over its own value range. */
function TokenCanvas({ trace, heightPx, label, detail, ariaLabel, hoverPosition, onPointerMove, testId }: TokenCanvasProps) {
  const frameRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { widthPx } = useElementSize(frameRef);
  const range = useMemo(() => valueRange(trace.data), [trace]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || widthPx === 0) return;
    canvas.width = widthPx;
    canvas.height = heightPx;
    const context = canvas.getContext('2d');
    if (!context) return;
    const window = { startSec: 0, endSec: trace.timeSteps };
    context.putImageData(new ImageData(renderHeatmap(trace, 1, window, widthPx, heightPx, range), widthPx, heightPx), 0, 0);
  }, [trace, widthPx, heightPx, range]);

  const layout = layoutTokenRow(trace.timeSteps, widthPx);
  const rangeText = `${range[0].toPrecision(3)} to ${range[1].toPrecision(3)}`;
  return (
    <div className="token-map-row">
      <span className="token-map-gutter" title={`${detail}; colours span ${rangeText}`}>
        {label}
      </span>
      <div className="token-canvas" ref={frameRef} data-testid={testId} style={{ height: `${heightPx}px` }} onPointerMove={onPointerMove}>
        <canvas ref={canvasRef} role="img" aria-label={`${ariaLabel}, from ${rangeText}`} style={{ width: '100%', height: `${heightPx}px` }} />
        {hoverPosition !== null && <div className="token-canvas-cursor" style={{ left: `${hoverPosition * layout.cellWidthPx}px`, width: `${layout.cellWidthPx}px` }} />}
      </div>
    </div>
  );
}
