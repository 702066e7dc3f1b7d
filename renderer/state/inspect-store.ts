// Inspector state: the selectivity traces of a clip (its region, or the whole clip) or of
// the generated take, which layer and kind are shown, and the time window and cursor
// shared with the waveform above the heatmap.

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { engineError, toEngineError } from '../engine/errors';
import { INSPECT_CONTEXT_SAMPLES, MAX_INSPECT_SEC } from '../engine/limits';
import type { EngineError, SelectivityTrace, TraceKind } from '../engine/protocol';
import type { TimeWindow } from '../lib/heatmap';
import type { ClipEntry } from './library-store';

export type InspectStatus = 'idle' | 'running' | 'done' | 'failed';

/** Source of the inspected audio: a clip of the library, or the generated take. */
export type InspectSource = 'clip' | 'generated';

/** The generated take as the inspector needs it. */
export interface GeneratedTake {
  takeNumber: number;
  codes: Uint8Array;
  /** Codes that primed the model before the take, or null. */
  promptCodes: Uint8Array | null;
  sampleRateHz: number;
}

/** Subject of the current traces. */
export type TracedSubject = { kind: 'clip'; clipId: string } | { kind: 'generated'; takeNumber: number };

export interface InspectState {
  status: InspectStatus;
  source: InspectSource;
  subject: TracedSubject | null;
  /** Start of the inspected span, in seconds of the clip or take the waveform shows. */
  offsetSec: number;
  /** Length of the inspected span in seconds, which MAX_INSPECT_SEC may have cut. */
  durationSec: number;
  /** Whether the span was cut to MAX_INSPECT_SEC. */
  truncated: boolean;
  sampleRateHz: number;
  traces: SelectivityTrace[];
  layer: number;
  kind: TraceKind;
  /** Samples traced so far while running. */
  progress: { doneSamples: number; totalSamples: number } | null;
  /** Visible time range of the waveform, in seconds of the shown audio. */
  window: TimeWindow;
  /** Playback or hover position in seconds of the inspected span, or null. */
  cursorSec: number | null;
  error: EngineError | null;
  setSource(source: InspectSource): void;
  runOnClip(clip: ClipEntry | null): Promise<void>;
  runOnGenerated(take: GeneratedTake | null): Promise<void>;
  applyProgress(doneSamples: number, totalSamples: number): void;
  select(layer: number, kind: TraceKind): void;
  setWindow(window: TimeWindow): void;
  setCursor(seconds: number | null): void;
  clearError(): void;
}

/** Returns the trace for a layer and kind, or null if the engine returned none. */
export function findTrace(traces: readonly SelectivityTrace[], layer: number, kind: TraceKind): SelectivityTrace | null {
  return traces.find((trace) => trace.layer === layer && trace.kind === kind) ?? null;
}

/**
 * Cuts the inspected span of a clip: the region (or whole clip) up to MAX_INSPECT_SEC,
 * preceded by up to INSPECT_CONTEXT_SAMPLES codes of the audio before it as context.
 */
export function clipInspectionInput(
  codes: Uint8Array,
  sampleRateHz: number,
  region: { startSec: number; endSec: number } | null,
): { codes: Uint8Array; contextSamples: number; startSample: number; spanSamples: number; truncated: boolean } {
  const start = region ? Math.max(0, Math.min(codes.length, Math.round(region.startSec * sampleRateHz))) : 0;
  const end = region ? Math.max(start, Math.min(codes.length, Math.round(region.endSec * sampleRateHz))) : codes.length;
  const limit = Math.round(MAX_INSPECT_SEC * sampleRateHz);
  const spanSamples = Math.min(end - start, limit);
  const contextStart = Math.max(0, start - INSPECT_CONTEXT_SAMPLES);
  return {
    // A copy: the request transfers its buffer.
    codes: codes.slice(contextStart, start + spanSamples),
    contextSamples: start - contextStart,
    startSample: start,
    spanSamples,
    truncated: end - start > limit,
  };
}

export function createInspectStore(getEngine: () => EngineApi): StoreApi<InspectState> {
  return createStore<InspectState>()((set, get) => {
    async function run(subject: TracedSubject, input: { codes: Uint8Array; contextSamples: number }, span: { offsetSec: number; durationSec: number; truncated: boolean; sampleRateHz: number }): Promise<void> {
      const totalSamples = input.codes.length - input.contextSamples;
      set({ status: 'running', error: null, subject, traces: [], ...span, progress: { doneSamples: 0, totalSamples } });
      try {
        const { traces } = await getEngine().request('inspect', { codes: input.codes, sampleRateHz: span.sampleRateHz, contextSamples: input.contextSamples });
        const { layer, kind } = get();
        // Keep the layer and kind on show when the new traces have them.
        const keep = findTrace(traces, layer, kind) !== null;
        const first = traces[0];
        set({ status: 'done', traces, progress: null, layer: keep ? layer : (first?.layer ?? 0), kind: keep ? kind : (first?.kind ?? kind) });
      } catch (error) {
        set({ status: 'failed', traces: [], progress: null, error: toEngineError(error) });
      }
    }

    return {
      status: 'idle',
      source: 'clip',
      subject: null,
      offsetSec: 0,
      durationSec: 0,
      truncated: false,
      sampleRateHz: 16000,
      traces: [],
      layer: 0,
      kind: 'delta',
      progress: null,
      window: { startSec: 0, endSec: 1 },
      cursorSec: null,
      error: null,

      setSource: (source) => set({ source, cursorSec: null }),

      async runOnClip(clip) {
        if (!clip?.model) {
          set({ status: 'failed', error: engineError('invalid-input', 'No usable clip is selected.', 'Select a clip in the Library first.') });
          return;
        }
        const { sampleRateHz } = clip.model;
        const input = clipInspectionInput(clip.model.codes, sampleRateHz, clip.region);
        if (input.spanSamples === 0) {
          set({ status: 'failed', error: engineError('invalid-input', 'The selected region is empty.', 'Select a longer region, or clear it to inspect the whole clip.') });
          return;
        }
        await run({ kind: 'clip', clipId: clip.id }, input, {
          offsetSec: input.startSample / sampleRateHz,
          durationSec: input.spanSamples / sampleRateHz,
          truncated: input.truncated,
          sampleRateHz,
        });
      },

      async runOnGenerated(take) {
        if (!take || take.codes.length === 0) {
          set({ status: 'failed', error: engineError('invalid-input', 'No audio has been generated yet.', 'Generate audio in the Generate view first.') });
          return;
        }
        const limit = Math.round(MAX_INSPECT_SEC * take.sampleRateHz);
        const spanSamples = Math.min(take.codes.length, limit);
        const context = take.promptCodes ? take.promptCodes.subarray(Math.max(0, take.promptCodes.length - INSPECT_CONTEXT_SAMPLES)) : new Uint8Array(0);
        const codes = new Uint8Array(context.length + spanSamples);
        codes.set(context);
        codes.set(take.codes.subarray(0, spanSamples), context.length);
        await run({ kind: 'generated', takeNumber: take.takeNumber }, { codes, contextSamples: context.length }, {
          offsetSec: 0,
          durationSec: spanSamples / take.sampleRateHz,
          truncated: take.codes.length > limit,
          sampleRateHz: take.sampleRateHz,
        });
      },

      applyProgress(doneSamples, totalSamples) {
        if (get().status === 'running') set({ progress: { doneSamples, totalSamples } });
      },

      select: (layer, kind) => set({ layer, kind }),
      setWindow: (window) => set({ window }),
      setCursor: (seconds) => set({ cursorSec: seconds }),
      clearError: () => set({ error: null }),
    };
  });
}
