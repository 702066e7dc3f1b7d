// Preload: exposes `DesktopApi` as `window.mambaDesktop` through the context bridge.
// Built as CommonJS (dist/app/preload.cjs) because sandboxed preloads cannot be ES modules.
//
// `satisfies DesktopApi` makes a missing or misspelled method a compile error, and each
// method is forwarded through `invoke`, whose types tie the method to its channel.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';

import {
  DESKTOP_API_GLOBAL,
  EVENT_CHANNELS,
  INVOKE_CHANNELS,
  type DesktopApi,
  type EventContract,
  type InvokeContract,
} from './ipc-contract';

function invoke<K extends keyof InvokeContract>(method: K, ...args: Parameters<InvokeContract[K]>): ReturnType<InvokeContract[K]> {
  return ipcRenderer.invoke(INVOKE_CHANNELS[method], ...args) as ReturnType<InvokeContract[K]>;
}

function subscribe<K extends keyof EventContract>(name: K, listener: (payload: EventContract[K]) => void): () => void {
  // The wrapper drops the IpcRendererEvent, which must not reach the page: its `sender`
  // would hand the page an ipcRenderer.
  const wrapped = (_event: IpcRendererEvent, payload: EventContract[K]): void => listener(payload);
  ipcRenderer.on(EVENT_CHANNELS[name], wrapped);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNELS[name], wrapped);
  };
}

const api = {
  getAppInfo: () => invoke('getAppInfo'),
  openFiles: (request) => invoke('openFiles', request),
  readDroppedFile: (path) => invoke('readDroppedFile', path),
  saveFile: (request) => invoke('saveFile', request),
  listRecentFiles: () => invoke('listRecentFiles'),
  openRecentFile: (path) => invoke('openRecentFile', path),
  clearRecentFiles: () => invoke('clearRecentFiles'),
  listCheckpoints: () => invoke('listCheckpoints'),
  writeCheckpoint: (meta, bytes) => invoke('writeCheckpoint', meta, bytes),
  readCheckpoint: (id) => invoke('readCheckpoint', id),
  deleteCheckpoint: (id) => invoke('deleteCheckpoint', id),
  onMenuCommand: (listener) => subscribe('menuCommand', listener),
  onRecentFilesChanged: (listener) => subscribe('recentFilesChanged', listener),
  onOpenRecentRequested: (listener) => subscribe('openRecentRequested', listener),
  pathForFile: (file) => webUtils.getPathForFile(file),
} satisfies DesktopApi;

contextBridge.exposeInMainWorld(DESKTOP_API_GLOBAL, api);
