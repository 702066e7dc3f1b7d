// Test fixtures: `app` is the app's page for the configured target (web or Electron),
// opened fresh for each test. Any uncaught page error or console error fails the test.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { _electron, expect, test as base, type Browser, type ElectronApplication, type Page } from '@playwright/test';

import { findElectronBinary } from '../app/tools/electron-binary';

export interface E2eOptions {
  target: 'web' | 'electron';
}

interface WorkerFixtures {
  target: E2eOptions['target'];
  webBrowser: Browser | null;
}

interface TestFixtures {
  app: Page;
}

const electronMain = fileURLToPath(new URL('../dist/app/main.js', import.meta.url));

/** The Electron application behind each page of the electron target. */
const electronApps = new WeakMap<Page, ElectronApplication>();

/** Console messages that are not errors of the app; none so far. Keep each entry narrow. */
const IGNORED_CONSOLE_ERRORS: readonly RegExp[] = [];

function watchForErrors(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (IGNORED_CONSOLE_ERRORS.some((pattern) => pattern.test(text))) return;
    const location = message.location();
    problems.push(`console.error: ${text}${location.url ? ` (${location.url}:${location.lineNumber})` : ''}`);
  });
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  target: ['web', { option: true, scope: 'worker' }],

  webBrowser: [
    async ({ playwright, target, launchOptions }, use) => {
      if (target !== 'web') {
        await use(null);
        return;
      }
      const browser = await playwright.chromium.launch(launchOptions);
      await use(browser);
      await browser.close();
    },
    { scope: 'worker' },
  ],

  app: async ({ target, webBrowser, viewport }, use, testInfo) => {
    const problems: string[] = [];
    let page: Page;
    let close: () => Promise<void>;

    if (target === 'web') {
      const baseUrl = process.env.MAMBA_E2E_BASE_URL;
      if (!baseUrl || !webBrowser) throw new Error('e2e: MAMBA_E2E_BASE_URL is not set; e2e/global-setup.ts should have started the server');
      const context = await webBrowser.newContext({ viewport: viewport ?? undefined, acceptDownloads: true });
      page = await context.newPage();
      watchForErrors(page, problems);
      await page.goto(baseUrl);
      close = () => context.close();
    } else {
      const lookup = findElectronBinary();
      testInfo.skip(!lookup.found, `Electron binary not installed (${lookup.found ? '' : lookup.reason}); use MAMBA_E2E_TARGET=web`);
      if (!lookup.found) return;
      // Electron, like Chromium, refuses to start as root with its sandbox on.
      const sandboxArgs = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
      const electronApp = await _electron.launch({ executablePath: lookup.path, args: [...sandboxArgs, electronMain] });
      page = await electronApp.firstWindow();
      electronApps.set(page, electronApp);
      watchForErrors(page, problems);
      close = () => electronApp.close();
    }

    await use(page);
    await close();
    expect(problems, 'page errors and console errors during the test').toEqual([]);
  },
});

export { expect };

/** Waits until the engine worker has replied to `init`, and returns the adapter name shown. */
export async function waitForAdapter(page: Page): Promise<string> {
  const name = page.getByTestId('adapter-name');
  await expect(name).not.toHaveText(/^(starting…|unavailable)?$/);
  return (await name.textContent()) ?? '';
}

/**
 * Opens a file through the app's own "Open audio…" button. In the browser the page's file
 * chooser receives the file. In Electron the native dialog cannot be driven, so its
 * showOpenDialog is replaced in the main process by one that returns `path`.
 */
export async function openAudioWithPicker(page: Page, path: string): Promise<void> {
  await openWithPicker(page, 'open-audio', path);
}

/** Opens a file through the button with `buttonTestId`, as openAudioWithPicker does. */
export async function openWithPicker(page: Page, buttonTestId: string, path: string): Promise<void> {
  const electronApp = electronApps.get(page);
  if (electronApp) {
    await electronApp.evaluate(({ dialog }, filePath) => {
      dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [filePath] })) as typeof dialog.showOpenDialog;
    }, path);
    await page.getByTestId(buttonTestId).click();
    return;
  }
  const chooser = page.waitForEvent('filechooser');
  await page.getByTestId(buttonTestId).click();
  await (await chooser).setFiles(path);
}

/**
 * Clicks a button that saves a file, and stores that file at `path`. In the browser the
 * download is saved there. In Electron showSaveDialog is replaced by one that returns `path`.
 * Resolves once the file is written.
 */
export async function saveWithPicker(page: Page, buttonTestId: string, path: string): Promise<void> {
  const electronApp = electronApps.get(page);
  if (electronApp) {
    await electronApp.evaluate(({ dialog }, filePath) => {
      dialog.showSaveDialog = (async () => ({ canceled: false, filePath })) as typeof dialog.showSaveDialog;
    }, path);
    await page.getByTestId(buttonTestId).click();
    await expect.poll(() => existsSync(path)).toBe(true);
    return;
  }
  const download = page.waitForEvent('download');
  await page.getByTestId(buttonTestId).click();
  await (await download).saveAs(path);
}

/** Drops a file on the window as a user dragging it from the file manager would. */
export async function dropFile(page: Page, path: string, mimeType = 'audio/wav'): Promise<void> {
  const name = path.split('/').pop() ?? 'file';
  const base64 = readFileSync(path).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ({ base64: encoded, name: fileName, mimeType: type }) => {
      const bytes = Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], fileName, { type }));
      return transfer;
    },
    { base64, name, mimeType },
  );
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

/** Number of non-transparent pixels in the canvases of a wavesurfer view (inside its shadow root). */
export async function paintedWaveformPixels(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((element) => {
    let painted = 0;
    const host = element.firstElementChild;
    for (const canvas of host?.shadowRoot?.querySelectorAll('canvas') ?? []) {
      const context = (canvas as HTMLCanvasElement).getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) continue;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    }
    return painted;
  });
}

/**
 * Counts the pixels of a canvas under the element with `testId` that are not transparent,
 * and the distinct colours among them (quantised to 4 bits per channel).
 */
export async function canvasPixels(page: Page, testId: string): Promise<{ painted: number; colors: number }> {
  return page.getByTestId(testId).locator('canvas').first().evaluate((canvas: HTMLCanvasElement) => {
    const context = canvas.getContext('2d');
    if (!context || canvas.width === 0 || canvas.height === 0) return { painted: 0, colors: 0 };
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    const colors = new Set<number>();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      painted++;
      colors.add(((data[i]! >> 4) << 8) | ((data[i + 1]! >> 4) << 4) | (data[i + 2]! >> 4));
    }
    return { painted, colors: colors.size };
  });
}

/** Counts pixels of a canvas under `testId` within `tolerance` of the colour `[r, g, b]`. */
export async function pixelsOfColor(page: Page, testId: string, rgb: readonly [number, number, number], tolerance = 24): Promise<number> {
  return page.getByTestId(testId).locator('canvas').first().evaluate(
    (canvas: HTMLCanvasElement, { rgb: [r, g, b], tolerance: limit }) => {
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! > 0 && Math.abs(data[i]! - r) <= limit && Math.abs(data[i + 1]! - g) <= limit && Math.abs(data[i + 2]! - b) <= limit) count++;
      }
      return count;
    },
    { rgb, tolerance },
  );
}

/** Saves a full-window screenshot under test-results/ and attaches it to the report. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const path = test.info().outputPath(`${name}.png`);
  await page.screenshot({ path });
  await test.info().attach(name, { path, contentType: 'image/png' });
}
