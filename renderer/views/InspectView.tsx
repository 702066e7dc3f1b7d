// Inspect: per-layer selectivity traces (delta, gate, state norm) of the selected clip as
// heatmaps under its waveform, sharing its time axis, zoom, scroll and cursor.

import { useMemo, useState } from 'react';

import { ErrorPanel } from '../components/ErrorPanel';
import { Heatmap } from '../components/Heatmap';
import { Waveform } from '../components/Waveform';
import type { TraceKind } from '../engine/protocol';
import { formatDuration } from '../lib/format';
import { findTrace } from '../state/inspect-store';
import { selectedClip } from '../state/library-store';
import { useInspect, useLibrary, useServices } from '../state/react';

const KIND_TEXT: Record<TraceKind, { label: string; help: string }> = {
  delta: { label: 'Delta', help: 'Step size Δ per channel: large values let the input in and forget the state, small values keep the state' },
  gate: { label: 'Gate', help: 'SiLU(z), the output gate of each channel' },
  stateNorm: { label: 'State norm', help: 'Norm of the SSM state h over its N entries, per channel' },
};

export function InspectView() {
  const { inspect, library } = useServices();
  const clip = useLibrary(selectedClip);
  const status = useInspect((state) => state.status);
  const traces = useInspect((state) => state.traces);
  const layer = useInspect((state) => state.layer);
  const kind = useInspect((state) => state.kind);
  const window = useInspect((state) => state.window);
  const cursorSec = useInspect((state) => state.cursorSec);
  const offsetSec = useInspect((state) => state.offsetSec);
  const sampleRateHz = useInspect((state) => state.sampleRateHz);
  const tracedClipId = useInspect((state) => state.clipId);
  const error = useInspect((state) => state.error);
  const [pxPerSec, setPxPerSec] = useState(0);

  const layers = useMemo(() => [...new Set(traces.map((trace) => trace.layer))].sort((a, b) => a - b), [traces]);
  const trace = tracedClipId === clip?.id ? findTrace(traces, layer, kind) : null;
  // The heatmap's time axis starts at the inspected region; the waveform shows the whole clip.
  const traceWindow = useMemo(() => ({ startSec: window.startSec - offsetSec, endSec: window.endSec - offsetSec }), [window, offsetSec]);

  return (
    <div className="view inspect-view" data-testid="view-inspect">
      <header className="view-header">
        <div>
          <h1>Inspect</h1>
          <p className="muted">
            {clip?.model
              ? `Selectivity of the model on ${clip.fileName}${clip.region ? `, ${formatDuration(clip.region.startSec)} – ${formatDuration(clip.region.endSec)}` : ''}`
              : 'Select a clip in the Library to inspect the model on it.'}
          </p>
        </div>
        <div className="toolbar">
          <button className="button button-primary" data-testid="inspect-run" disabled={!clip?.model || status === 'running'} onClick={() => void inspect.getState().run(clip)}>
            {status === 'running' ? 'Running…' : 'Run inspection'}
          </button>
        </div>
      </header>

      {error && <ErrorPanel error={error} onDismiss={() => inspect.getState().clearError()} />}

      <section className="panel inspect-main">
        <div className="waveform-toolbar">
          <div className="segmented" role="radiogroup" aria-label="Trace">
            {(Object.keys(KIND_TEXT) as TraceKind[]).map((candidate) => (
              <button
                key={candidate}
                role="radio"
                aria-checked={candidate === kind}
                className={candidate === kind ? 'active' : ''}
                title={KIND_TEXT[candidate].help}
                onClick={() => inspect.getState().select(layer, candidate)}
              >
                {KIND_TEXT[candidate].label}
              </button>
            ))}
          </div>
          <label className="inline-field">
            Layer
            <select value={layer} disabled={layers.length === 0} onChange={(event) => inspect.getState().select(Number(event.target.value), kind)}>
              {layers.length === 0 ? <option value={0}>–</option> : layers.map((value) => <option key={value} value={value}>{value}</option>)}
            </select>
          </label>
          <span className="toolbar-spacer" />
          <label className="inline-field">
            Zoom
            <input type="range" min={0} max={2000} step={10} value={pxPerSec} aria-label="Zoom in pixels per second" onChange={(event) => setPxPerSec(Number(event.target.value))} />
          </label>
        </div>

        {clip?.model ? (
          <div className="aligned-stack">
            <Waveform
              samples={clip.model.samples}
              sampleRateHz={clip.model.sampleRateHz}
              region={clip.region}
              onRegionChange={(region) => library.getState().setRegion(clip.id, region)}
              selectable={false}
              pxPerSec={pxPerSec}
              heightPx={110}
              onTimeWindow={(next) => inspect.getState().setWindow(next)}
              onTime={(seconds) => inspect.getState().setCursor(seconds - offsetSec)}
              testId="inspect-waveform"
            />
            <Heatmap trace={trace} sampleRateHz={sampleRateHz} window={traceWindow} cursorSec={cursorSec} testId="heatmap" />
          </div>
        ) : (
          <div className="waveform-placeholder">No clip selected.</div>
        )}
      </section>
    </div>
  );
}
