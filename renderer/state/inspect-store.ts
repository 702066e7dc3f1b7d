// Inspector state: the selectivity traces of one clip, which layer and kind are shown,
// and the time window and cursor shared with the waveform above the heatmap.

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import type { EngineError, SelectivityTrace, TraceKind } from '../engine/protocol';
import type { TimeWindow } from '../lib/heatmap';
import type { ClipEntry } from './library-store';
import { sliceByRegion } from './spans';

export type InspectStatus = 'idle' | 'running' | 'done' | 'failed';

export interface InspectState {
  status: InspectStatus;
  /** Clip the traces belong to, and the start of the inspected span within it. */
  clipId: string | null;
  offsetSec: number;
  sampleRateHz: number;
  traces: SelectivityTrace[];
  layer: number;
  kind: TraceKind;
  /** Visible time range of the waveform, in seconds of the clip. */
  window: TimeWindow;
  /** Playback or hover position in seconds of the clip, or null. */
  cursorSec: number | null;
  error: EngineError | null;
  run(clip: ClipEntry | null): Promise<void>;
  select(layer: number, kind: TraceKind): void;
  setWindow(window: TimeWindow): void;
  setCursor(seconds: number | null): void;
  clearError(): void;
}

/** Returns the trace for a layer and kind, or null if the engine returned none. */
export function findTrace(traces: readonly SelectivityTrace[], layer: number, kind: TraceKind): SelectivityTrace | null {
  return traces.find((trace) => trace.layer === layer && trace.kind === kind) ?? null;
}

export function createInspectStore(getEngine: () => EngineApi): StoreApi<InspectState> {
  return createStore<InspectState>()((set, get) => ({
    status: 'idle',
    clipId: null,
    offsetSec: 0,
    sampleRateHz: 16000,
    traces: [],
    layer: 0,
    kind: 'delta',
    window: { startSec: 0, endSec: 1 },
    cursorSec: null,
    error: null,

    async run(clip) {
      if (!clip?.model) {
        set({ status: 'failed', error: engineError('invalid-request', 'No usable clip is selected.', 'Select a clip in the Library first.') });
        return;
      }
      const codes = sliceByRegion(clip.model.codes, clip.model.sampleRateHz, clip.region);
      set({ status: 'running', error: null, clipId: clip.id, offsetSec: clip.region?.startSec ?? 0, sampleRateHz: clip.model.sampleRateHz });
      try {
        const { traces } = await getEngine().request('inspect', { codes, sampleRateHz: clip.model.sampleRateHz });
        const first = traces[0];
        set({ status: 'done', traces, layer: first?.layer ?? 0, kind: first?.kind ?? get().kind });
      } catch (error) {
        set({ status: 'failed', traces: [], error: toEngineError(error) });
      }
    },

    select: (layer, kind) => set({ layer, kind }),
    setWindow: (window) => set({ window }),
    setCursor: (seconds) => set({ cursorSec: seconds }),
    clearError: () => set({ error: null }),
  }));
}
