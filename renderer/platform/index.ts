// Chooses the platform: the desktop app when the preload exposed its API, else the browser.

import { downloadBytes, pickFiles } from './browser-files';
import { createDefaultBrowserPlatform } from './browser-platform';
import { createElectronPlatform, findDesktopApi } from './electron-platform';
import type { Platform } from './platform';

export function detectPlatform(): Platform {
  const desktopApi = findDesktopApi();
  return desktopApi ? createElectronPlatform(desktopApi) : createDefaultBrowserPlatform(pickFiles, downloadBytes);
}

export type { CheckpointMeta, Platform, PlatformFile, RecentEntry, SaveOutcome, OpenableKind } from './platform';
export { PlatformError } from './platform';
