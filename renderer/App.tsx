// Application layout: sidebar navigation, the current view, the adapter banner, the status
// bar and notices. It also handles drag and drop on the whole window and, in web mode,
// keyboard shortcuts.

import { useEffect, useState } from 'react';

import type { MenuCommand } from '../app/ipc-contract';
import { Notices } from './components/Notices';
import { AdapterBanner, StatusBar } from './components/StatusBar';
import type { AppServices } from './state/services';
import { useServices, useUi } from './state/react';
import { VIEWS } from './views';

export function App() {
  const services = useServices();
  const view = useUi((state) => state.view);
  const current = VIEWS.find((entry) => entry.id === view) ?? VIEWS[0]!;
  const dragging = useFileDrop(services);
  useWebShortcuts(services);
  const CurrentView = current.component;

  return (
    <div className="app">
      <nav className="sidebar" aria-label="Views">
        <div className="brand" title="mamba-audio">
          <span className="brand-mark">M</span>
        </div>
        {VIEWS.map((entry) => (
          <button
            key={entry.id}
            className={`nav-item${entry.id === view ? ' active' : ''}`}
            aria-current={entry.id === view ? 'page' : undefined}
            data-testid={`nav-${entry.id}`}
            title={`${entry.label} (Ctrl+${entry.shortcutDigit})`}
            onClick={() => services.ui.getState().setView(entry.id)}
          >
            <span className="nav-glyph" aria-hidden>
              {entry.glyph}
            </span>
            <span className="nav-label">{entry.label}</span>
          </button>
        ))}
      </nav>
      <div className="main-column">
        <AdapterBanner />
        <main className="content">
          <CurrentView />
        </main>
        <StatusBar />
      </div>
      <Notices />
      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <div>Drop audio files to add them to the library</div>
        </div>
      )}
    </div>
  );
}

/** Accepts files dropped anywhere in the window; returns whether files are being dragged over it. */
function useFileDrop(services: AppServices): boolean {
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    let depth = 0;
    const hasFiles = (event: DragEvent): boolean => Array.from(event.dataTransfer?.types ?? []).includes('Files');
    const onEnter = (event: DragEvent): void => {
      if (!hasFiles(event)) return;
      depth++;
      setDragging(true);
    };
    const onLeave = (event: DragEvent): void => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onOver = (event: DragEvent): void => {
      // Without preventDefault the browser would open the file in place of the app.
      if (hasFiles(event)) event.preventDefault();
    };
    const onDrop = (event: DragEvent): void => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setDragging(false);
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length > 0) {
        services.ui.getState().setView('library');
        void services.library.getState().openDropped(files);
      }
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('dragover', onOver);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('drop', onDrop);
    };
  }, [services]);
  return dragging;
}

/** Maps a key press with Ctrl (Cmd on macOS) to the menu command it stands for. */
function shortcutCommand(event: KeyboardEvent): MenuCommand | null {
  const view = VIEWS.find((entry) => String(entry.shortcutDigit) === event.key);
  if (view) return `view-${view.id}`;
  const key = event.key.toLowerCase();
  if (key === 'o') return event.shiftKey ? 'open-checkpoint' : 'open-audio';
  if (key === 's') return event.shiftKey ? 'save-checkpoint' : 'save-project';
  if (key === 'e') return 'export-wav';
  return null;
}

/**
 * Handles the menu's shortcuts in web mode, where there is no app menu. Space toggles
 * playback unless a form field or button has the focus.
 */
function useWebShortcuts(services: AppServices): void {
  useEffect(() => {
    if (services.platform.kind !== 'web') return;
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target;
      // Space on a focused control belongs to that control (a button's click, a checkbox).
      const typing = target instanceof HTMLElement && target.closest('input, textarea, select, button, [contenteditable="true"]') !== null;
      if (event.key === ' ' && !typing && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        services.runMenuCommand('toggle-playback');
        return;
      }
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const command = shortcutCommand(event);
      if (!command) return;
      event.preventDefault();
      services.runMenuCommand(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [services]);
}
