// The clip library: opened files, their decoded audio and formats, decoding problems, and
// the region selected on each clip (the training span and the generation prompt).

import { createStore, type StoreApi } from 'zustand/vanilla';

import { hasExtensionOf } from '../../app/file-kinds';
import type { ClipFormat, ClipLoadResult, ClipProblem, ModelAudio } from '../audio-bridge';
import type { Platform, PlatformFile, RecentEntry } from '../platform';

export interface Region {
  startSec: number;
  endSec: number;
}

export interface ClipEntry {
  id: string;
  fileName: string;
  byteLength: number;
  path?: string;
  status: 'decoding' | 'ready' | 'failed';
  format: ClipFormat | null;
  /** Mono audio at the model rate with its codes; null while decoding or when unusable. */
  model: ModelAudio | null;
  /** Reason the file could not be opened at all (status 'failed'). */
  problem: ClipProblem | null;
  /** Reason a decoded clip cannot be used by the model (too short, silent). */
  unusable: ClipProblem | null;
  warnings: string[];
  /** The file's bytes, played by the waveform's media element. */
  sourceBytes: Uint8Array;
  /** Selected span, or null for the whole clip. */
  region: Region | null;
}

export interface LibraryState {
  clips: ClipEntry[];
  selectedId: string | null;
  recent: RecentEntry[];
  /** Opens files from the platform's picker and decodes them one after another. */
  openFromPicker(): Promise<void>;
  openDropped(files: readonly File[]): Promise<void>;
  openRecent(key: string): Promise<void>;
  refreshRecent(): Promise<void>;
  clearRecent(): Promise<void>;
  addFiles(files: readonly PlatformFile[]): Promise<void>;
  select(id: string): void;
  remove(id: string): void;
  setRegion(id: string, region: Region | null): void;
}

export interface LibraryDependencies {
  platform: Platform;
  loadClip(bytes: Uint8Array, fileName: string): Promise<ClipLoadResult>;
  /** Reports a problem that is not tied to one clip (picker failed, wrong file type). */
  reportProblem(title: string, message: string, hint: string): void;
}

export function selectedClip(state: Pick<LibraryState, 'clips' | 'selectedId'>): ClipEntry | null {
  return state.clips.find((clip) => clip.id === state.selectedId) ?? null;
}

/**
 * Clamps a region to [0, durationSec] and orders its ends. Returns null for regions
 * shorter than one sample at `sampleRateHz`, which mean "no region".
 */
export function normalizeRegion(region: Region, durationSec: number, sampleRateHz: number): Region | null {
  const start = Math.max(0, Math.min(region.startSec, region.endSec));
  const end = Math.min(durationSec, Math.max(region.startSec, region.endSec));
  return end - start < 1 / sampleRateHz ? null : { startSec: start, endSec: end };
}

export function createLibraryStore(deps: LibraryDependencies): StoreApi<LibraryState> {
  let nextId = 1;

  return createStore<LibraryState>()((set, get) => {
    const update = (id: string, patch: Partial<ClipEntry>): void =>
      set((state) => ({ clips: state.clips.map((clip) => (clip.id === id ? { ...clip, ...patch } : clip)) }));

    async function guard(title: string, operation: () => Promise<void>): Promise<void> {
      try {
        await operation();
      } catch (error) {
        const hint = (error as { hint?: unknown }).hint;
        deps.reportProblem(title, error instanceof Error ? error.message : String(error), typeof hint === 'string' ? hint : 'Try again.');
      }
    }

    return {
      clips: [],
      selectedId: null,
      recent: [],

      openFromPicker: () =>
        guard('Could not open the file', async () => {
          await get().addFiles(await deps.platform.openFiles('audio', { multiple: true }));
        }),

      openDropped: (files) =>
        guard('Could not open the dropped file', async () => {
          const audio = files.filter((file) => hasExtensionOf('audio', file.name));
          const skipped = files.filter((file) => !audio.includes(file));
          if (skipped.length > 0) {
            deps.reportProblem(
              'Some dropped files were skipped',
              `${skipped.map((file) => file.name).join(', ')} ${skipped.length === 1 ? 'is not an audio file' : 'are not audio files'}.`,
              'Drop WAV, FLAC, MP3 or Ogg Vorbis files.',
            );
          }
          if (audio.length === 0) return;
          const opened = await deps.platform.readDroppedFiles(audio);
          for (const file of opened) await deps.platform.rememberRecent(file, 'audio');
          await get().addFiles(opened);
        }),

      openRecent: (key) =>
        guard('Could not reopen the file', async () => {
          await get().addFiles([await deps.platform.openRecent(key)]);
        }),

      refreshRecent: () =>
        guard('Could not read the recent-files list', async () => {
          set({ recent: (await deps.platform.listRecent()).filter((entry) => entry.kind === 'audio') });
        }),

      clearRecent: () =>
        guard('Could not clear the recent-files list', async () => {
          await deps.platform.clearRecent();
          set({ recent: [] });
        }),

      async addFiles(files) {
        for (const file of files) {
          const id = `clip-${nextId++}`;
          const entry: ClipEntry = {
            id,
            fileName: file.name,
            byteLength: file.bytes.byteLength,
            path: file.path,
            status: 'decoding',
            format: null,
            model: null,
            problem: null,
            unusable: null,
            warnings: [],
            sourceBytes: file.bytes,
            region: null,
          };
          set((state) => ({ clips: [...state.clips, entry], selectedId: id }));

          const result = await deps.loadClip(file.bytes, file.name);
          if (result.ok) {
            update(id, { status: 'ready', format: result.format, model: result.model, unusable: result.unusable, warnings: result.warnings });
          } else {
            update(id, { status: 'failed', problem: result.problem });
          }
        }
      },

      select: (id) => set({ selectedId: id }),

      remove(id) {
        set((state) => {
          const index = state.clips.findIndex((clip) => clip.id === id);
          const clips = state.clips.filter((clip) => clip.id !== id);
          const selectedId = state.selectedId === id ? (clips[Math.min(index, clips.length - 1)]?.id ?? null) : state.selectedId;
          return { clips, selectedId };
        });
      },

      setRegion(id, region) {
        const clip = get().clips.find((candidate) => candidate.id === id);
        if (!clip) return;
        const durationSec = clip.format?.durationSec ?? 0;
        const rate = clip.model?.sampleRateHz ?? clip.format?.sampleRateHz ?? 1;
        update(id, { region: region ? normalizeRegion(region, durationSec, rate) : null });
      },
    };
  });
}
