// Inspect: per-layer selectivity traces (delta, gate, state norm) of the selected clip or
// of the generated take, as heatmaps under its waveform, sharing its time axis, zoom,
// scroll and cursor.

import { useMemo, useState } from 'react';

import { ErrorPanel } from '../components/ErrorPanel';
import { Heatmap } from '../components/Heatmap';
import { Waveform } from '../components/Waveform';
import { MAX_INSPECT_SEC } from '../engine/limits';
import type { TraceKind } from '../engine/protocol';
import { formatDuration } from '../lib/format';
import { concatChunks, concatCodes } from '../state/generate-store';
import { findTrace, type InspectSource } from '../state/inspect-store';
import { selectedClip } from '../state/library-store';
import { useEngine, useGenerate, useInspect, useLibrary, useServices } from '../state/react';

const KIND_TEXT: Record<TraceKind, { label: string; help: string }> = {
  delta: { label: 'Delta', help: 'Step size Δ per channel: large values let the input in and forget the state, small values keep the state' },
  gate: { label: 'Gate', help: 'SiLU(z), the output gate of each channel' },
  stateNorm: { label: 'State norm', help: 'Norm of the SSM state h over its N entries, per channel' },
};

const SOURCE_TEXT: Record<InspectSource, string> = {
  clip: 'Selected clip',
  generated: 'Generated take',
};

export function InspectView() {
  const { inspect, library } = useServices();
  const clip = useLibrary(selectedClip);
  const model = useEngine((state) => state.model);
  const source = useInspect((state) => state.source);
  const status = useInspect((state) => state.status);
  const traces = useInspect((state) => state.traces);
  const layer = useInspect((state) => state.layer);
  const kind = useInspect((state) => state.kind);
  const window = useInspect((state) => state.window);
  const cursorSec = useInspect((state) => state.cursorSec);
  const offsetSec = useInspect((state) => state.offsetSec);
  const durationSec = useInspect((state) => state.durationSec);
  const truncated = useInspect((state) => state.truncated);
  const sampleRateHz = useInspect((state) => state.sampleRateHz);
  const subject = useInspect((state) => state.subject);
  const progress = useInspect((state) => state.progress);
  const error = useInspect((state) => state.error);
  const take = useGeneratedTake();
  const [pxPerSec, setPxPerSec] = useState(0);

  const layers = useMemo(() => [...new Set(traces.map((trace) => trace.layer))].sort((a, b) => a - b), [traces]);
  // A U-Net's blocks name their stage, such as "level 1 down".
  const stages = useMemo(() => new Map(traces.flatMap((trace) => (trace.stage ? [[trace.layer, trace.stage] as const] : []))), [traces]);
  const tracesShown = source === 'clip' ? subject?.kind === 'clip' && subject.clipId === clip?.id : subject?.kind === 'generated' && subject.takeNumber === take?.takeNumber;
  const trace = tracesShown ? findTrace(traces, layer, kind) : null;
  // The heatmap's time axis starts at the inspected span; the waveform shows all the audio.
  const traceWindow = useMemo(() => ({ startSec: window.startSec - offsetSec, endSec: window.endSec - offsetSec }), [window, offsetSec]);
  const running = status === 'running';
  const canRun = Boolean(model) && !running && (source === 'clip' ? Boolean(clip?.model) : Boolean(take));

  let shown: { samples: Float32Array; sampleRateHz: number; key: string } | null = null;
  if (source === 'clip' && clip?.model) shown = { samples: clip.model.samples, sampleRateHz: clip.model.sampleRateHz, key: clip.id };
  if (source === 'generated' && take) shown = { samples: take.samples, sampleRateHz: take.sampleRateHz, key: `take-${take.takeNumber}` };

  const run = (): void => {
    if (source === 'clip') void inspect.getState().runOnClip(clip);
    else void inspect.getState().runOnGenerated(take);
  };

  return (
    <div className="view inspect-view" data-testid="view-inspect">
      <header className="view-header">
        <div>
          <h1>Inspect</h1>
          <p className="muted" data-testid="inspect-subject">
            {describeSubject(source, clip, take)}
          </p>
        </div>
        <div className="toolbar">
          <div className="segmented" role="radiogroup" aria-label="Audio to inspect">
            {(Object.keys(SOURCE_TEXT) as InspectSource[]).map((candidate) => (
              <button
                key={candidate}
                role="radio"
                aria-checked={candidate === source}
                className={candidate === source ? 'active' : ''}
                data-testid={`inspect-source-${candidate}`}
                disabled={running}
                onClick={() => inspect.getState().setSource(candidate)}
              >
                {SOURCE_TEXT[candidate]}
              </button>
            ))}
          </div>
          <button className="button button-primary" data-testid="inspect-run" disabled={!canRun} title={model ? undefined : 'Load a model first'} onClick={run}>
            {running ? 'Running…' : 'Run inspection'}
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
                data-testid={`trace-kind-${candidate}`}
                onClick={() => inspect.getState().select(layer, candidate)}
              >
                {KIND_TEXT[candidate].label}
              </button>
            ))}
          </div>
          <label className="inline-field">
            {stages.size > 0 ? 'Block' : 'Layer'}
            <select value={layer} disabled={layers.length === 0} data-testid="trace-layer" onChange={(event) => inspect.getState().select(Number(event.target.value), kind)}>
              {layers.length === 0 ? (
                <option value={0}>–</option>
              ) : (
                layers.map((value) => (
                  <option key={value} value={value}>
                    {stages.has(value) ? `${value} · ${stages.get(value)}` : value}
                  </option>
                ))
              )}
            </select>
          </label>
          {tracesShown && status === 'done' && (
            <span className="muted small" data-testid="inspect-span">
              {formatDuration(offsetSec)} – {formatDuration(offsetSec + durationSec)}
              {truncated ? ` (the first ${MAX_INSPECT_SEC} s of the ${source === 'clip' ? 'span' : 'take'})` : ''}
            </span>
          )}
          <span className="toolbar-spacer" />
          <label className="inline-field">
            Zoom
            <input type="range" min={0} max={2000} step={10} value={pxPerSec} aria-label="Zoom in pixels per second" onChange={(event) => setPxPerSec(Number(event.target.value))} />
          </label>
        </div>

        {running && progress && (
          <div className="inspect-progress" data-testid="inspect-progress">
            <div className="progress">
              <div className="progress-fill" style={{ width: `${(progress.doneSamples / Math.max(1, progress.totalSamples)) * 100}%` }} />
            </div>
            <span className="muted small">
              Tracing {formatDuration(progress.doneSamples / sampleRateHz)} of {formatDuration(progress.totalSamples / sampleRateHz)}
            </span>
          </div>
        )}

        {shown ? (
          <div className="aligned-stack">
            <Waveform
              key={shown.key}
              samples={shown.samples}
              sampleRateHz={shown.sampleRateHz}
              region={source === 'clip' ? (clip?.region ?? null) : null}
              onRegionChange={source === 'clip' && clip ? (region) => library.getState().setRegion(clip.id, region) : undefined}
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
          <div className="waveform-placeholder">{source === 'clip' ? 'No clip selected: open one in the Library.' : 'No generated take yet: generate audio first.'}</div>
        )}
      </section>
    </div>
  );
}

function describeSubject(source: InspectSource, clip: ReturnType<typeof selectedClip>, take: GeneratedTakeView | null): string {
  if (source === 'generated') {
    return take ? `Selectivity of the model on the generated take (${formatDuration(take.samples.length / take.sampleRateHz)})` : 'Generate audio first to inspect the model on it.';
  }
  if (!clip?.model) return 'Select a clip in the Library to inspect the model on it.';
  const region = clip.region ? `, ${formatDuration(clip.region.startSec)} – ${formatDuration(clip.region.endSec)}` : '';
  return `Selectivity of the model on ${clip.fileName}${region}`;
}

interface GeneratedTakeView {
  takeNumber: number;
  samples: Float32Array;
  codes: Uint8Array;
  promptCodes: Uint8Array | null;
  sampleRateHz: number;
}

/** Returns the finished generated take, joined, or null while none exists or one is being generated. */
function useGeneratedTake(): GeneratedTakeView | null {
  const chunks = useGenerate((state) => state.chunks);
  const codeChunks = useGenerate((state) => state.codeChunks);
  const totalSamples = useGenerate((state) => state.totalSamples);
  const takeNumber = useGenerate((state) => state.takeNumber);
  const promptCodes = useGenerate((state) => state.promptCodes);
  const sampleRateHz = useGenerate((state) => state.sampleRateHz);
  const status = useGenerate((state) => state.status);
  const finished = status === 'finished' || status === 'stopped' || status === 'failed';
  return useMemo(() => {
    if (!finished || totalSamples === 0) return null;
    return { takeNumber, samples: concatChunks(chunks, totalSamples), codes: concatCodes(codeChunks), promptCodes, sampleRateHz };
  }, [finished, chunks, codeChunks, totalSamples, takeNumber, promptCodes, sampleRateHz]);
}
