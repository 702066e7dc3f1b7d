// The views of the sidebar, in order. A new view is one entry here plus its id in ViewId
// (state/ui-store.ts) and, for a desktop shortcut, a `view-…` menu command in
// app/ipc-contract.ts and app/menu.ts.

import type { ComponentType } from 'react';

import type { ViewId } from '../state/ui-store';
import { GenerateView } from './GenerateView';
import { InspectView } from './InspectView';
import { LabView } from './LabView';
import { LibraryView } from './LibraryView';
import { TrainView } from './TrainView';

export interface ViewEntry {
  id: ViewId;
  label: string;
  /** One-character glyph shown in the sidebar. */
  glyph: string;
  /** Shortcut digit: Ctrl/Cmd + digit switches to the view. */
  shortcutDigit: number;
  component: ComponentType;
}

export const VIEWS: readonly ViewEntry[] = [
  { id: 'library', label: 'Library', glyph: '▤', shortcutDigit: 1, component: LibraryView },
  { id: 'train', label: 'Train', glyph: '◭', shortcutDigit: 2, component: TrainView },
  { id: 'generate', label: 'Generate', glyph: '∿', shortcutDigit: 3, component: GenerateView },
  { id: 'inspect', label: 'Inspect', glyph: '▦', shortcutDigit: 4, component: InspectView },
  { id: 'lab', label: 'Lab', glyph: '⚗', shortcutDigit: 5, component: LabView },
];
