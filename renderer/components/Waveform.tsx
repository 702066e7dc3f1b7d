// Waveform view over wavesurfer.js 7: zoom, scroll, playback, one selectable region
// (Regions plugin) and an optional spectrogram (Spectrogram plugin).
//
// Exactly one WaveSurfer instance exists per mounted component: it is created in an effect
// and destroyed in that effect's cleanup, so React StrictMode's mount, unmount, mount
// sequence ends with one live instance (test/renderer/waveform.test.tsx checks this).

import { useEffect, useImperativeHandle, useRef, useState, type Ref } from 'react';
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin, { type Region as WsRegion } from 'wavesurfer.js/dist/plugins/regions.esm.js';
import SpectrogramPlugin from 'wavesurfer.js/dist/plugins/spectrogram.esm.js';

import type { TimeWindow } from '../lib/heatmap';
import type { Region } from '../state/library-store';

/** Creates the WaveSurfer instance; tests pass a fake. */
export type WaveSurferFactory = (container: HTMLElement, regions: RegionsPlugin) => WaveSurfer;

export interface WaveformProps {
  /** Mono samples to draw, at `sampleRateHz`. */
  samples: Float32Array | null;
  sampleRateHz: number;
  /** File bytes played by the media element; without them the view is display-only. */
  media?: { bytes: Uint8Array; mimeType: string } | null;
  region?: Region | null;
  onRegionChange?(region: Region | null): void;
  /** Draws a spectrogram under the waveform. */
  showSpectrogram?: boolean;
  /** Zoom in pixels per second; 0 fits the whole clip in the view. */
  pxPerSec?: number;
  heightPx?: number;
  /** Keeps the end of the audio in view as it grows (generation). */
  followEnd?: boolean;
  onTimeWindow?(window: TimeWindow): void;
  onTime?(seconds: number): void;
  onPlayingChange?(playing: boolean): void;
  /** Toggles playback whenever this number changes (menu command, keyboard). */
  playbackToggleCount?: number;
  /** Whether dragging on the waveform creates a region; fixed at mount. */
  selectable?: boolean;
  controlsRef?: Ref<WaveformControls>;
  testId?: string;
  createWaveSurfer?: WaveSurferFactory;
}

/** Imperative controls for toolbars; calls before the audio is ready do nothing. */
export interface WaveformControls {
  playPause(): void;
  stop(): void;
  /** Plays the selected region, or the whole clip without one. */
  playRegion(): void;
}

export const WAVEFORM_COLORS = {
  wave: '#4f7cac',
  progress: '#8fc1ff',
  cursor: '#ffcf66',
  region: 'rgba(255, 207, 102, 0.18)',
} as const;

const defaultFactory: WaveSurferFactory = (container, regions) =>
  WaveSurfer.create({
    container,
    height: 128,
    waveColor: WAVEFORM_COLORS.wave,
    progressColor: WAVEFORM_COLORS.progress,
    cursorColor: WAVEFORM_COLORS.cursor,
    cursorWidth: 1,
    normalize: false,
    interact: true,
    dragToSeek: false,
    autoScroll: true,
    autoCenter: false,
    hideScrollbar: false,
    plugins: [regions],
  });

/** Regions closer than this (in seconds) count as equal, so prop echoes do not loop. */
const REGION_EPSILON_SEC = 1e-4;

function sameRegion(a: Region | null | undefined, b: Region | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return Math.abs(a.startSec - b.startSec) < REGION_EPSILON_SEC && Math.abs(a.endSec - b.endSec) < REGION_EPSILON_SEC;
}

function visibleWindow(ws: WaveSurfer): TimeWindow {
  const durationSec = ws.getDuration();
  const totalPx = ws.getWrapper().scrollWidth || ws.getWidth();
  const viewPx = ws.getWidth();
  if (!durationSec || !totalPx) return { startSec: 0, endSec: durationSec || 1 };
  const startSec = (ws.getScroll() / totalPx) * durationSec;
  return { startSec, endSec: Math.min(durationSec, startSec + (viewPx / totalPx) * durationSec) };
}

export function Waveform(props: WaveformProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const [instance, setInstance] = useState<{ ws: WaveSurfer; regions: RegionsPlugin } | null>(null);
  const [ready, setReady] = useState(false);
  const callbacks = useRef(props);
  callbacks.current = props;
  /** The region last reported to or received from the parent. */
  const regionRef = useRef<Region | null>(null);

  // Create one instance per mount; destroy it in the cleanup.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    const regions = RegionsPlugin.create();
    const ws = (callbacks.current.createWaveSurfer ?? defaultFactory)(container, regions);

    const report = (region: WsRegion): void => {
      const next = { startSec: region.start, endSec: region.end };
      regionRef.current = next;
      callbacks.current.onRegionChange?.(next);
    };
    const unsubscribers = [
      regions.on('region-created', (created) => {
        // Only one region at a time: a new drag selection replaces the old one.
        for (const other of regions.getRegions()) if (other !== created) other.remove();
        report(created);
      }),
      regions.on('region-updated', report),
      ws.on('ready', () => {
        setReady(true);
        callbacks.current.onTimeWindow?.(visibleWindow(ws));
      }),
      ws.on('scroll', (startSec, endSec) => callbacks.current.onTimeWindow?.({ startSec, endSec })),
      ws.on('zoom', () => callbacks.current.onTimeWindow?.(visibleWindow(ws))),
      ws.on('redrawcomplete', () => callbacks.current.onTimeWindow?.(visibleWindow(ws))),
      ws.on('timeupdate', (seconds) => callbacks.current.onTime?.(seconds)),
      ws.on('play', () => callbacks.current.onPlayingChange?.(true)),
      ws.on('pause', () => callbacks.current.onPlayingChange?.(false)),
      ws.on('finish', () => callbacks.current.onPlayingChange?.(false)),
    ];
    if (callbacks.current.selectable ?? true) regions.enableDragSelection({ color: WAVEFORM_COLORS.region });

    setInstance({ ws, regions });
    return () => {
      for (const unsubscribe of unsubscribers) unsubscribe();
      ws.destroy();
      setInstance(null);
      setReady(false);
    };
  }, []);

  // Load the samples (and the media to play, if any).
  const { samples, sampleRateHz, media, followEnd } = props;
  useEffect(() => {
    if (!instance || !samples || samples.length === 0) return;
    const durationSec = samples.length / sampleRateHz;
    const { ws } = instance;
    const wasAtEnd = followEnd && ws.getCurrentTime() >= ws.getDuration() - 0.05;
    // Until this load's 'ready' event the media element may still hold the previous source,
    // so a play request now would start a stale element whose time never moves.
    setReady(false);
    const loading = media
      ? ws.loadBlob(new Blob([media.bytes as Uint8Array<ArrayBuffer>], { type: media.mimeType }), [samples], durationSec)
      : ws.load('', [samples], durationSec);
    loading
      .then(() => {
        if (followEnd && (wasAtEnd || !ws.isPlaying())) ws.setScrollTime(durationSec);
      })
      .catch((error: unknown) => {
        // Destroying the instance while it loads aborts the load; that is not an error.
        if ((error as Error)?.name !== 'AbortError') console.warn('[waveform] load failed:', error);
      });
  }, [instance, samples, sampleRateHz, media, followEnd]);

  // Zoom.
  const { pxPerSec = 0 } = props;
  useEffect(() => {
    if (instance && ready) instance.ws.zoom(pxPerSec);
  }, [instance, ready, pxPerSec]);

  // Spectrogram: registered while shown, destroyed when hidden.
  const { showSpectrogram = false, heightPx = 128 } = props;
  useEffect(() => {
    if (!instance || !showSpectrogram) return;
    const spectrogram = instance.ws.registerPlugin(
      SpectrogramPlugin.create({ height: heightPx, labels: true, labelsBackground: 'rgba(16, 18, 22, 0.55)', fftSamples: 512, scale: 'mel', colorMap: 'roseus' }),
    );
    return () => spectrogram.destroy();
  }, [instance, showSpectrogram, heightPx]);

  useEffect(() => {
    instance?.ws.setOptions({ height: heightPx });
  }, [instance, heightPx]);

  // Region from props: applied when it differs from what the plugin last reported.
  const { region = null } = props;
  useEffect(() => {
    if (!instance || !ready || sameRegion(region, regionRef.current)) return;
    regionRef.current = region;
    instance.regions.clearRegions();
    if (region) {
      instance.regions.addRegion({ start: region.startSec, end: region.endSec, color: WAVEFORM_COLORS.region, drag: true, resize: true });
    }
  }, [instance, ready, region]);

  // Playback toggles requested from outside (menu, keyboard).
  const { playbackToggleCount } = props;
  const lastToggle = useRef(playbackToggleCount);
  useEffect(() => {
    if (playbackToggleCount === lastToggle.current) return;
    lastToggle.current = playbackToggleCount;
    if (instance && ready && props.media) void instance.ws.playPause();
  }, [instance, ready, playbackToggleCount, props.media]);

  // A play request made while a load is in flight starts once that load is ready.
  const pendingPlay = useRef(false);
  useEffect(() => {
    if (!instance || !ready || !pendingPlay.current) return;
    pendingPlay.current = false;
    void instance.ws.play();
  }, [instance, ready]);

  useImperativeHandle(
    props.controlsRef,
    () => ({
      playPause() {
        if (instance && ready) void instance.ws.playPause();
        else if (instance) pendingPlay.current = !pendingPlay.current;
      },
      stop() {
        if (instance && ready) instance.ws.stop();
      },
      playRegion() {
        if (!instance || !ready) return;
        const [selected] = instance.regions.getRegions();
        if (selected) selected.play(true);
        else void instance.ws.play();
      },
    }),
    [instance, ready],
  );

  return <div className="waveform" ref={containerRef} data-testid={props.testId} data-ready={ready ? 'true' : 'false'} />;
}
