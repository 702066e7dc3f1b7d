// Library: open or drop clips, see their format, listen, zoom, and select the region used
// as the training span and the generation prompt.

import { useMemo, useRef, useState } from 'react';

import type { ClipFormat } from '../audio-bridge';
import { Waveform, type WaveformControls } from '../components/Waveform';
import { formatChannels, formatDuration, formatRate } from '../lib/format';
import type { RecentEntry } from '../platform';
import type { ClipEntry } from '../state/library-store';
import { selectedClip } from '../state/library-store';
import { useLibrary, useServices, useUi } from '../state/react';

const MIME_TYPES: Record<ClipFormat['container'], string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  mpeg: 'audio/mpeg',
};

export function LibraryView() {
  const { library } = useServices();
  const clips = useLibrary((state) => state.clips);
  const selected = useLibrary(selectedClip);
  const recent = useLibrary((state) => state.recent);

  return (
    <div className="view library-view" data-testid="view-library">
      <header className="view-header">
        <div>
          <h1>Library</h1>
          <p className="muted">Open or drop WAV, FLAC, MP3 or Ogg Vorbis clips. Drag on a waveform to select the span to train on or prompt with.</p>
        </div>
        <div className="toolbar">
          <button className="button button-primary" data-testid="open-audio" onClick={() => void library.getState().openFromPicker()}>
            Open audio…
          </button>
        </div>
      </header>

      <div className="library-body">
        <aside className="panel clip-list" aria-label="Clips">
          <h2 className="panel-title">Clips</h2>
          {clips.length === 0 ? (
            <p className="muted small">No clips yet.</p>
          ) : (
            <ul>
              {clips.map((clip) => (
                <ClipRow key={clip.id} clip={clip} selected={clip.id === selected?.id} />
              ))}
            </ul>
          )}
          <RecentList recent={recent} />
        </aside>

        <section className="clip-detail">{selected ? <ClipDetail clip={selected} /> : <EmptyLibrary />}</section>
      </div>
    </div>
  );
}

function ClipRow({ clip, selected }: { clip: ClipEntry; selected: boolean }) {
  const { library } = useServices();
  return (
    <li className={`clip-row${selected ? ' selected' : ''} clip-${clip.status}`} data-testid="clip-row" data-status={clip.status}>
      <button className="clip-row-main" onClick={() => library.getState().select(clip.id)} title={clip.path ?? clip.fileName}>
        <span className="clip-name">{clip.fileName}</span>
        <span className="clip-meta">
          {clip.status === 'decoding' && 'decoding…'}
          {clip.status === 'failed' && <span className="text-error">could not be opened</span>}
          {clip.status === 'ready' && clip.format && `${formatDuration(clip.format.durationSec)} · ${formatRate(clip.format.sampleRateHz)} · ${formatChannels(clip.format.channelCount)}`}
        </span>
      </button>
      <button className="icon-button" aria-label={`Remove ${clip.fileName}`} onClick={() => library.getState().remove(clip.id)}>
        ×
      </button>
    </li>
  );
}

function RecentList({ recent }: { recent: RecentEntry[] }) {
  const { library } = useServices();
  if (recent.length === 0) return null;
  return (
    <div className="recent">
      <h2 className="panel-title">
        Recent
        <button className="link-button" onClick={() => void library.getState().clearRecent()}>
          clear
        </button>
      </h2>
      <ul>
        {recent.map((entry) => (
          <li key={entry.key}>
            <button
              className="link-button"
              disabled={!entry.canReopen}
              title={entry.canReopen ? `Reopen ${entry.name}` : 'Too large to keep a copy in the browser; open it again from disk'}
              onClick={() => void library.getState().openRecent(entry.key)}
            >
              {entry.name}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function EmptyLibrary() {
  const { library } = useServices();
  return (
    <div className="empty-state" data-testid="library-empty">
      <div className="empty-icon" aria-hidden>
        ∿
      </div>
      <h2>No clip selected</h2>
      <p className="muted">Drop audio files anywhere in this window, or</p>
      <button className="button button-primary" onClick={() => void library.getState().openFromPicker()}>
        Open audio…
      </button>
    </div>
  );
}

function ClipDetail({ clip }: { clip: ClipEntry }) {
  if (clip.status === 'decoding') {
    return (
      <div className="panel" data-testid="clip-decoding">
        <h2>{clip.fileName}</h2>
        <p className="muted">Decoding…</p>
      </div>
    );
  }
  if (clip.status === 'failed' && clip.problem) {
    return (
      <div className="panel">
        <h2>{clip.fileName}</h2>
        <div className="error-panel" role="alert" data-testid="clip-error">
          <div>
            <strong>This file could not be opened.</strong>
            <p>{clip.problem.message}</p>
            <p className="hint">{clip.problem.hint}</p>
          </div>
        </div>
      </div>
    );
  }
  return <ReadyClip clip={clip} />;
}

function ReadyClip({ clip }: { clip: ClipEntry }) {
  const { library } = useServices();
  const playbackToggleCount = useUi((state) => state.playbackToggleCount);
  const controls = useRef<WaveformControls>(null);
  const [pxPerSec, setPxPerSec] = useState(0);
  const [showSpectrogram, setShowSpectrogram] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [timeSec, setTimeSec] = useState(0);
  const format = clip.format!;
  const media = useMemo(() => ({ bytes: clip.sourceBytes, mimeType: MIME_TYPES[format.container] }), [clip.sourceBytes, format.container]);

  return (
    <div className="panel clip-panel">
      <div className="clip-heading">
        <h2 data-testid="clip-title">{clip.fileName}</h2>
        <dl className="facts">
          <div>
            <dt>Duration</dt>
            <dd data-testid="clip-duration">{formatDuration(format.durationSec)}</dd>
          </div>
          <div>
            <dt>Sample rate</dt>
            <dd data-testid="clip-rate">{formatRate(format.sampleRateHz)}</dd>
          </div>
          <div>
            <dt>Channels</dt>
            <dd data-testid="clip-channels">{formatChannels(format.channelCount)}</dd>
          </div>
          <div>
            <dt>Format</dt>
            <dd>
              {format.container.toUpperCase()} · {format.codec}
              {format.bitsPerSample ? ` · ${format.bitsPerSample}-bit` : ''}
            </dd>
          </div>
        </dl>
      </div>

      {clip.warnings.length > 0 && (
        <ul className="warnings" data-testid="clip-warnings">
          {clip.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      {clip.unusable && (
        <div className="error-panel" role="alert" data-testid="clip-unusable">
          <div>
            <strong>This clip cannot be used by the model.</strong>
            <p>{clip.unusable.message}</p>
            <p className="hint">{clip.unusable.hint}</p>
          </div>
        </div>
      )}

      {clip.model && (
        <>
          <div className="waveform-toolbar">
            <button className="button" data-testid="play-pause" onClick={() => controls.current?.playPause()}>
              {playing ? 'Pause' : 'Play'}
            </button>
            <button className="button" onClick={() => controls.current?.playRegion()} disabled={!clip.region}>
              Play region
            </button>
            <button className="button button-quiet" onClick={() => controls.current?.stop()}>
              Stop
            </button>
            <span className="time-readout">{formatDuration(timeSec)}</span>
            <span className="toolbar-spacer" />
            <label className="inline-field">
              Zoom
              <input
                type="range"
                min={0}
                max={2000}
                step={10}
                value={pxPerSec}
                data-testid="zoom"
                aria-label="Zoom in pixels per second"
                onChange={(event) => setPxPerSec(Number(event.target.value))}
              />
              <span className="muted small">{pxPerSec === 0 ? 'fit' : `${pxPerSec} px/s`}</span>
            </label>
            <label className="inline-field">
              <input type="checkbox" checked={showSpectrogram} data-testid="toggle-spectrogram" onChange={(event) => setShowSpectrogram(event.target.checked)} />
              Spectrogram
            </label>
          </div>

          <Waveform
            samples={clip.model.samples}
            sampleRateHz={clip.model.sampleRateHz}
            media={media}
            region={clip.region}
            onRegionChange={(region) => library.getState().setRegion(clip.id, region)}
            pxPerSec={pxPerSec}
            showSpectrogram={showSpectrogram}
            heightPx={140}
            onTime={setTimeSec}
            onPlayingChange={setPlaying}
            playbackToggleCount={playbackToggleCount}
            controlsRef={controls}
            testId="waveform"
          />

          <div className="region-bar">
            {clip.region ? (
              <>
                <span data-testid="region-readout">
                  Region {formatDuration(clip.region.startSec)} – {formatDuration(clip.region.endSec)} ({(clip.region.endSec - clip.region.startSec).toFixed(2)} s)
                </span>
                <button className="link-button" onClick={() => library.getState().setRegion(clip.id, null)}>
                  clear region
                </button>
              </>
            ) : (
              <span className="muted">No region: training and prompting use the whole clip. Drag on the waveform to select a span.</span>
            )}
            <span className="toolbar-spacer" />
            <span className="muted small">
              Shown as the model hears it: mono, {formatRate(clip.model.sampleRateHz)}, peak-normalised (gain {clip.model.gain.toFixed(2)})
            </span>
          </div>
        </>
      )}
    </div>
  );
}
