// The app starts, reaches a real WebGPU adapter through its engine worker, and navigates.

import { expect, saveScreenshot, test, waitForAdapter } from './fixtures';

test('shows the WebGPU adapter in use', async ({ app }) => {
  const adapterName = await waitForAdapter(app);
  test.info().annotations.push({ type: 'adapter', description: adapterName });

  expect(adapterName.trim().length).toBeGreaterThan(0);
  expect(adapterName).not.toMatch(/unnamed adapter/);
  await expect(app.getByTestId('engine-banner')).toHaveCount(0);

  // A software fallback adapter must come with the banner that explains it, and only then.
  const isFallback = (await app.getByTestId('fallback-badge').count()) > 0;
  await expect(app.getByTestId('fallback-banner')).toHaveCount(isFallback ? 1 : 0);
  if (isFallback) await saveScreenshot(app, 'fallback-adapter');
});

test('page carries the content security policy', async ({ app }) => {
  const policy = await app.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  expect(policy).toContain("default-src 'none'");
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
});

test('navigates between the views', async ({ app }) => {
  for (const view of ['train', 'generate', 'inspect', 'library'] as const) {
    await app.getByTestId(`nav-${view}`).click();
    await expect(app.getByTestId(`view-${view}`)).toBeVisible();
    await expect(app.getByTestId(`nav-${view}`)).toHaveAttribute('aria-current', 'page');
  }
});
