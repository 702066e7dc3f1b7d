// Generate: sample new audio from the model, optionally primed with the selected region,
// watch the waveform grow as chunks stream in, hear them gaplessly, and export a WAV.

import { useEffect, useRef, useState } from 'react';

import { ErrorPanel } from '../components/ErrorPanel';
import { NumberField } from '../components/NumberField';
import { Waveform } from '../components/Waveform';
import { formatDuration } from '../lib/format';
import { concatChunks, type GenerateStatus } from '../state/generate-store';
import { selectedClip } from '../state/library-store';
import { useEngine, useGenerate, useLibrary, useServices } from '../state/react';

const STATUS_TEXT: Record<GenerateStatus, string> = {
  idle: 'Ready',
  starting: 'Starting…',
  generating: 'Generating',
  stopping: 'Stopping…',
  finished: 'Finished',
  stopped: 'Stopped',
  failed: 'Failed',
};

/** Minimum interval between waveform redraws while chunks stream in. */
const REDRAW_INTERVAL_MS = 250;

export function GenerateView() {
  const services = useServices();
  const { generate } = services;
  const clip = useLibrary(selectedClip);
  const model = useEngine((state) => state.model);
  const settings = useGenerate((state) => state.settings);
  const status = useGenerate((state) => state.status);
  const totalSamples = useGenerate((state) => state.totalSamples);
  const sampleRateHz = useGenerate((state) => state.sampleRateHz);
  const playWhileGenerating = useGenerate((state) => state.playWhileGenerating);
  const error = useGenerate((state) => state.error);
  const active = status === 'starting' || status === 'generating' || status === 'stopping';
  const set = generate.getState().setSettings;
  const drawnSamples = useThrottledSamples(REDRAW_INTERVAL_MS);
  const promptAvailable = Boolean(clip?.model);

  return (
    <div className="view generate-view" data-testid="view-generate">
      <header className="view-header">
        <div>
          <h1>Generate</h1>
          <p className="muted">
            {model ? `Model: ${model.name}` : 'No model loaded yet: generation uses the default model once the engine provides one.'}
          </p>
        </div>
        <div className="toolbar">
          {!active ? (
            <button className="button button-primary" data-testid="generate-start" onClick={() => void generate.getState().start(settings.usePrompt ? clip : null)}>
              Generate
            </button>
          ) : (
            <button className="button button-danger" data-testid="generate-stop" disabled={status === 'stopping'} onClick={() => void generate.getState().stop()}>
              Stop
            </button>
          )}
          <button className="button" data-testid="export-wav" disabled={totalSamples === 0 || active} onClick={() => void generate.getState().exportWav()}>
            Export WAV…
          </button>
        </div>
      </header>

      {error && <ErrorPanel error={error} onDismiss={() => generate.getState().clearError()} />}

      <div className="generate-body">
        <aside className="panel form-panel" aria-label="Generation settings">
          <h2 className="panel-title">Settings</h2>
          <NumberField label="Length" value={settings.lengthSec} min={0.1} max={600} unit="s" onChange={(value) => set({ lengthSec: value })} disabled={active} testId="generate-length" />
          <NumberField label="Temperature" value={settings.temperature} min={0.05} max={5} step={0.05} onChange={(value) => set({ temperature: value })} disabled={active} help="Softmax temperature; below 1 is more conservative, above 1 more random" />
          <NumberField label="Top-p" value={settings.topP} min={0.01} max={1} step={0.01} onChange={(value) => set({ topP: value })} disabled={active} help="Nucleus sampling: keep the most likely codes whose probabilities sum to this; 1 turns it off" />
          <NumberField label="Seed" value={settings.seed} min={0} max={2 ** 31 - 1} integer onChange={(value) => set({ seed: value })} disabled={active} />
          <label className="checkbox-field">
            <input type="checkbox" checked={settings.usePrompt} disabled={active || !promptAvailable} onChange={(event) => set({ usePrompt: event.target.checked })} />
            <span>
              Prompt with the selected clip
              <span className="muted small block">
                {clip?.model
                  ? clip.region
                    ? `${clip.fileName}, ${formatDuration(clip.region.startSec)} – ${formatDuration(clip.region.endSec)}`
                    : `${clip.fileName}, whole clip`
                  : 'No clip selected: generation starts from silence.'}
              </span>
            </span>
          </label>
          <label className="checkbox-field">
            <input type="checkbox" checked={playWhileGenerating} disabled={active} onChange={(event) => generate.getState().setPlayWhileGenerating(event.target.checked)} />
            <span>Play while generating</span>
          </label>
        </aside>

        <section className="panel generate-main">
          <div className="stats">
            <div className="stat">
              <span className="stat-label">Status</span>
              <span className="stat-value" data-testid="generate-status">
                {STATUS_TEXT[status]}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Generated</span>
              <span className="stat-value">
                {formatDuration(totalSamples / sampleRateHz)} / {formatDuration(settings.lengthSec)}
              </span>
            </div>
          </div>
          {drawnSamples ? (
            <Waveform samples={drawnSamples} sampleRateHz={sampleRateHz} heightPx={160} followEnd selectable={false} testId="generated-waveform" />
          ) : (
            <div className="waveform-placeholder" data-testid="generated-placeholder">
              Generated audio appears here as it is produced, sample by sample from the model's recurrent state.
            </div>
          )}
        </section>
      </div>
    </div>
  );
}

/** Returns the generated samples joined, recomputed at most once per `intervalMs` while they grow. */
function useThrottledSamples(intervalMs: number): Float32Array | null {
  const chunks = useGenerate((state) => state.chunks);
  const totalSamples = useGenerate((state) => state.totalSamples);
  const [samples, setSamples] = useState<Float32Array | null>(null);
  const lastUpdateMs = useRef(0);

  useEffect(() => {
    const update = (): void => {
      lastUpdateMs.current = performance.now();
      setSamples(totalSamples > 0 ? concatChunks(chunks, totalSamples) : null);
    };
    const waitMs = intervalMs - (performance.now() - lastUpdateMs.current);
    if (chunks.length === 0 || waitMs <= 0) {
      update();
      return;
    }
    // A newer chunk replaces this timer, but the wait counts from the last redraw, so
    // redraws keep coming every intervalMs however fast chunks arrive.
    const timer = setTimeout(update, waitMs);
    return () => clearTimeout(timer);
  }, [chunks, totalSamples, intervalMs]);

  return samples;
}
