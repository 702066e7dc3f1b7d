// UI state that belongs to no document: the current view and the notices shown to the user.

import { createStore, type StoreApi } from 'zustand/vanilla';

export type ViewId = 'library' | 'train' | 'generate' | 'inspect' | 'lab';

export interface Notice {
  id: number;
  level: 'error' | 'warning' | 'info';
  title: string;
  message: string;
  /** Advice on what the user can do, shown under the message. */
  hint?: string;
}

export interface UiState {
  view: ViewId;
  notices: Notice[];
  /** Incremented by the menu's Play / pause; the visible waveform toggles playback on change. */
  playbackToggleCount: number;
  setView(view: ViewId): void;
  /** Shows a notice and returns its id. An identical notice already shown is not repeated. */
  notify(notice: Omit<Notice, 'id'>): number;
  dismiss(id: number): void;
  requestPlaybackToggle(): void;
}

/** Notices kept at once; older ones are dropped first. */
export const MAX_NOTICES = 5;

export function createUiStore(): StoreApi<UiState> {
  let nextId = 1;
  return createStore<UiState>()((set, get) => ({
    view: 'library',
    notices: [],
    playbackToggleCount: 0,
    setView: (view) => set({ view }),
    notify(notice) {
      const duplicate = get().notices.find(
        (shown) => shown.level === notice.level && shown.title === notice.title && shown.message === notice.message,
      );
      if (duplicate) return duplicate.id;
      const id = nextId++;
      set((state) => ({ notices: [...state.notices, { ...notice, id }].slice(-MAX_NOTICES) }));
      return id;
    },
    dismiss: (id) => set((state) => ({ notices: state.notices.filter((notice) => notice.id !== id) })),
    requestPlaybackToggle: () => set((state) => ({ playbackToggleCount: state.playbackToggleCount + 1 })),
  }));
}
