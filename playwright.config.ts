// End-to-end tests of the real UI. The target comes from MAMBA_E2E_TARGET:
//   web (default)  the web build served on 127.0.0.1, driven in Debian's Chromium
//   electron       the desktop app through Playwright's _electron (skipped without the binary)
//   all            both
// `npm run e2e` builds first; e2e/global-setup.ts serves dist/web for the web target.

import { defineConfig, type PlaywrightTestOptions, type PlaywrightWorkerOptions, type Project } from '@playwright/test';

import { chromiumArgs, CHROMIUM_PATH } from './app/tools/chromium';
import type { E2eOptions } from './e2e/fixtures';

const TARGETS = ['web', 'electron', 'all'] as const;
const target = process.env.MAMBA_E2E_TARGET ?? 'web';
if (!(TARGETS as readonly string[]).includes(target)) {
  throw new Error(`MAMBA_E2E_TARGET=${target} is not one of ${TARGETS.join(', ')}`);
}

const viewport = { width: 1360, height: 860 };

type E2eProject = Project<PlaywrightTestOptions, PlaywrightWorkerOptions & E2eOptions>;

const webProject: E2eProject = {
  name: 'web',
  use: {
    target: 'web',
    viewport,
    launchOptions: { executablePath: CHROMIUM_PATH, args: chromiumArgs(), headless: true },
  },
};

const electronProject: E2eProject = {
  name: 'electron',
  use: { target: 'electron', viewport },
};

const projects: E2eProject[] = [];
if (target === 'web' || target === 'all') projects.push(webProject);
if (target === 'electron' || target === 'all') projects.push(electronProject);

export default defineConfig<object, E2eOptions>({
  testDir: './e2e',
  outputDir: './test-results',
  // Each test opens the app afresh; software WebGPU and decoding on two cores take seconds.
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: [['list']],
  globalSetup: './e2e/global-setup.ts',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects,
});
