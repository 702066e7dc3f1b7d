// Session- and window-level security settings of the main process: permission requests
// denied by default, no navigation away from the app, no new windows, no webviews, and
// no network requests to anything but the app's own origin.

import type { Session, WebContents } from 'electron';

import { APP_HOST, APP_SCHEME } from './ipc-contract';

/** Returns whether a URL belongs to the renderer served by the app protocol. */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/**
 * Returns whether the renderer may load `url`: its own files, object and data URLs that it made,
 * and DevTools. Everything else, including every http(s) URL, is canceled.
 */
export function isAllowedRequestUrl(url: string): boolean {
  if (isAppUrl(url)) return true;
  return url.startsWith('blob:') || url.startsWith('data:') || url.startsWith('devtools:');
}

export function installSessionSecurity(session: Session): void {
  // The app needs no permission: WebGPU, Web Audio output and file pickers go without one.
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    console.warn(`[security] denied permission request: ${permission}`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);

  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequestUrl(details.url);
    if (!allowed) console.warn(`[security] blocked request to ${details.url}`);
    callback({ cancel: !allowed });
  });
}

/** Applies to every WebContents the app creates, including ones a bug might open. */
export function guardWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) {
      console.warn(`[security] blocked navigation to ${url}`);
      event.preventDefault();
    }
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) {
      console.warn(`[security] blocked redirect to ${url}`);
      event.preventDefault();
    }
  });
  contents.on('will-attach-webview', (event) => {
    console.warn('[security] blocked a <webview>');
    event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    console.warn(`[security] blocked a new window for ${url}`);
    return { action: 'deny' };
  });
}
