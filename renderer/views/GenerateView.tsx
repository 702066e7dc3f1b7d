// Generate: sample new audio from the model, optionally primed with the selected region,
// watch the waveform grow as chunks stream in, hear them gaplessly, then play, inspect or
// export the finished take.

import { useEffect, useMemo, useRef, useState } from 'react';

import { ErrorPanel } from '../components/ErrorPanel';
import { NumberField } from '../components/NumberField';
import { Waveform, type WaveformControls } from '../components/Waveform';
import { MAX_PROMPT_SEC } from '../engine/limits';
import { formatCount, formatDuration, formatModelShape } from '../lib/format';
import { concatChunks, MAX_LENGTH_SEC, type GenerateStatus } from '../state/generate-store';
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

/** Interval between reads of the live player's clock. */
const LIVE_STATUS_INTERVAL_MS = 200;

export function GenerateView() {
  const services = useServices();
  const { generate, ui } = services;
  const clip = useLibrary(selectedClip);
  const model = useEngine((state) => state.model);
  const modelStatus = useEngine((state) => state.modelStatus);
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
  const speed = useGenerationSpeed(active, totalSamples);

  return (
    <div className="view generate-view" data-testid="view-generate">
      <header className="view-header">
        <div>
          <h1>Generate</h1>
          <p className="muted" data-testid="generate-model">
            {model ? `Model: ${model.source === 'default' ? 'default model' : model.name} · ${formatModelShape(model)}` : modelLine(modelStatus)}
          </p>
        </div>
        <div className="toolbar">
          {!active ? (
            <button
              className="button button-primary"
              data-testid="generate-start"
              disabled={!model}
              title={model ? undefined : 'Load a model first'}
              onClick={() => void generate.getState().start(settings.usePrompt ? clip : null)}
            >
              Generate
            </button>
          ) : (
            <button className="button button-danger" data-testid="generate-stop" disabled={status === 'stopping'} onClick={() => void generate.getState().stop()}>
              Stop
            </button>
          )}
          <button
            className="button"
            data-testid="inspect-generated"
            disabled={totalSamples === 0 || active}
            onClick={() => {
              services.inspect.getState().setSource('generated');
              ui.getState().setView('inspect');
            }}
          >
            Inspect take
          </button>
          <button className="button" data-testid="export-wav" disabled={totalSamples === 0 || active} onClick={() => void generate.getState().exportWav()}>
            Export WAV…
          </button>
        </div>
      </header>

      {error && <ErrorPanel error={error} onDismiss={() => generate.getState().clearError()} />}

      <div className="generate-body">
        <aside className="panel form-panel" aria-label="Generation settings">
          <h2 className="panel-title">Settings</h2>
          <NumberField label="Length" value={settings.lengthSec} min={0.1} max={MAX_LENGTH_SEC} unit="s" onChange={(value) => set({ lengthSec: value })} disabled={active} testId="generate-length" />
          <NumberField label="Temperature" value={settings.temperature} min={0.05} max={5} step={0.05} onChange={(value) => set({ temperature: value })} disabled={active} help="Softmax temperature; below 1 is more conservative, above 1 more random" testId="generate-temperature" />
          <NumberField label="Top-p" value={settings.topP} min={0.01} max={1} step={0.01} onChange={(value) => set({ topP: value })} disabled={active} help="Nucleus sampling: keep the most likely codes whose probabilities sum to this; 1 turns it off" testId="generate-top-p" />
          <NumberField label="Seed" value={settings.seed} min={0} max={2 ** 31 - 1} integer onChange={(value) => set({ seed: value })} disabled={active} help="The same seed, settings and model give the same audio" testId="generate-seed" />
          <label className="checkbox-field">
            <input type="checkbox" data-testid="generate-use-prompt" checked={settings.usePrompt && promptAvailable} disabled={active || !promptAvailable} onChange={(event) => set({ usePrompt: event.target.checked })} />
            <span>
              Prompt with the selected clip
              <span className="muted small block">
                {clip?.model
                  ? `${clip.fileName}, ${clip.region ? `${formatDuration(clip.region.startSec)} – ${formatDuration(clip.region.endSec)}` : 'whole clip'}; its last ${MAX_PROMPT_SEC} s prime the model`
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
              <span className="stat-value" data-testid="generated-duration" data-samples={totalSamples}>
                {formatDuration(totalSamples / sampleRateHz)} / {formatDuration(settings.lengthSec)}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Speed</span>
              <span className="stat-value" title="Generated samples per second of wall-clock time, and the ratio to real time">
                {speed === null ? '–' : `${formatCount(speed)}/s · ${(speed / sampleRateHz).toFixed(2)}×`}
              </span>
            </div>
            <LiveAudioStat active={active} />
          </div>
          <div className="progress" aria-label="Generation progress">
            <div className="progress-fill" style={{ width: `${Math.min(100, (totalSamples / Math.max(1, settings.lengthSec * sampleRateHz)) * 100)}%` }} />
          </div>
          {active && totalSamples === 0 && (
            <p className="pending-note" data-testid="generate-pending">
              Priming the model{settings.usePrompt && promptAvailable ? ' with the prompt' : ''}. The first take with a model also compiles its GPU kernels, which can take a minute or more on a software adapter.
            </p>
          )}
          <TakePlayer samples={drawnSamples} active={active} />
        </section>
      </div>
    </div>
  );
}

function modelLine(modelStatus: string): string {
  if (modelStatus === 'loading') return 'Loading the model…';
  if (modelStatus === 'missing') return 'No model loaded: this build has no default model. Open a checkpoint in the Train view.';
  return 'No model loaded: open a checkpoint in the Train view.';
}

/** Shows the take's waveform, growing while it is generated, then playable with a transport bar. */
function TakePlayer({ samples, active }: { samples: Float32Array | null; active: boolean }) {
  const { generate } = useServices();
  const sampleRateHz = useGenerate((state) => state.sampleRateHz);
  const takeWav = useGenerate((state) => state.takeWav);
  const promptName = useGenerate((state) => state.promptName);
  const controls = useRef<WaveformControls>(null);
  const [playing, setPlaying] = useState(false);
  const [timeSec, setTimeSec] = useState(0);
  const [showSpectrogram, setShowSpectrogram] = useState(false);
  const media = useMemo(() => (takeWav ? { bytes: takeWav, mimeType: 'audio/wav' } : null), [takeWav]);
  const playable = media !== null && !active;

  useEffect(() => {
    // A new take resets the transport.
    setPlaying(false);
    setTimeSec(0);
  }, [media]);

  return (
    <div className="take" data-testid="take">
      <div className="waveform-toolbar">
        <button className="button" data-testid="take-play" data-playing={playing ? 'true' : 'false'} disabled={!playable} onClick={() => controls.current?.playPause()}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <button className="button button-quiet" disabled={!playable} onClick={() => controls.current?.stop()}>
          Stop
        </button>
        <span className="time-readout" data-testid="take-time" data-seconds={timeSec.toFixed(3)}>
          {formatDuration(timeSec)}
        </span>
        <span className="toolbar-spacer" />
        <span className="muted small">{promptName ? `Continues ${promptName}` : 'Started from silence'}</span>
        <label className="inline-field">
          <input type="checkbox" checked={showSpectrogram} disabled={active} onChange={(event) => setShowSpectrogram(event.target.checked)} />
          Spectrogram
        </label>
      </div>
      {samples ? (
        <Waveform
          samples={samples}
          sampleRateHz={sampleRateHz}
          media={media}
          heightPx={180}
          showSpectrogram={showSpectrogram && !active}
          followEnd
          selectable={false}
          onTime={setTimeSec}
          onPlayingChange={(isPlaying) => {
            // The take and the tail of the live stream would otherwise sound at once.
            if (isPlaying) generate.getState().stopLivePlayback();
            setPlaying(isPlaying);
          }}
          controlsRef={controls}
          testId="generated-waveform"
        />
      ) : (
        <div className="waveform-placeholder" data-testid="generated-placeholder">
          Generated audio appears here as it is produced, sample by sample from the model's recurrent state.
        </div>
      )}
    </div>
  );
}

/** Shows the state of the gapless player that plays chunks as they arrive, read from its audio clock. */
function LiveAudioStat({ active }: { active: boolean }) {
  const { generate } = useServices();
  const playWhileGenerating = useGenerate((state) => state.playWhileGenerating);
  const [live, setLive] = useState<ReturnType<ReturnType<typeof generate.getState>['livePlaybackStatus']>>(null);

  useEffect(() => {
    // Reads on until the last scheduled chunk has played, which is after generation ends.
    let timer: ReturnType<typeof setInterval> | null = null;
    const read = (): void => {
      const status = generate.getState().livePlaybackStatus();
      setLive(status);
      if (!active && !status?.playing && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    };
    timer = setInterval(read, LIVE_STATUS_INTERVAL_MS);
    read();
    return () => {
      if (timer !== null) clearInterval(timer);
    };
  }, [active, generate]);

  let text = 'Waiting';
  if (live?.playing) text = `Playing · ${live.bufferedSec.toFixed(1)} s ahead`;
  else if (live && live.underruns > 0) text = `Waiting for audio (${live.underruns} gaps)`;
  if (!active && !live?.playing) text = 'Idle';
  if (!playWhileGenerating && !live?.playing) text = 'Off';

  return (
    <div className="stat">
      <span className="stat-label">Live audio</span>
      <span
        className="stat-value"
        data-testid="live-audio"
        data-playing={live?.playing ? 'true' : 'false'}
        data-clock={live ? live.clockSec.toFixed(3) : ''}
        title="Chunks play back to back on the audio clock as they arrive; a gap means generation fell behind real time"
      >
        {text}
      </span>
    </div>
  );
}

/**
 * Samples generated per second of wall-clock time in the current take, counted from the
 * first chunk, so the wait for the prompt and for shader compilation is left out. Null
 * until two chunks have arrived.
 */
function useGenerationSpeed(active: boolean, totalSamples: number): number | null {
  const first = useRef<{ atMs: number; samples: number } | null>(null);
  const [speed, setSpeed] = useState<number | null>(null);
  useEffect(() => {
    if (totalSamples === 0) {
      first.current = null;
      if (active) setSpeed(null);
      return;
    }
    if (!active) return;
    if (first.current === null) {
      first.current = { atMs: performance.now(), samples: totalSamples };
      return;
    }
    const elapsedSec = (performance.now() - first.current.atMs) / 1000;
    if (elapsedSec > 0) setSpeed((totalSamples - first.current.samples) / elapsedSec);
  }, [active, totalSamples]);
  return speed;
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
