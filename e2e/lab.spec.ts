// The Lab view in the real UI. A tiny selectivity lab run trains with a live loss curve,
// reports its accuracy, and draws delta per layer under the input tokens, column for
// column. S6 and S4 results stay side by side. Cancel ends a run without a result and
// leaves the loaded audio model in place.
//
// The runs are far too short to learn the task; the tests check the pipeline and the
// drawing, not the accuracy.

import type { Page } from '@playwright/test';

import { canvasPixels, expect, pixelsOfColor, saveScreenshot, test, waitForAdapter } from './fixtures';

/** Enough for a cold shader cache; a warm one needs a fraction of it. */
const LAB_TEST_TIMEOUT_MS = 240_000;
/** Maximum wait for one lab run, shader compilation included. */
const LAB_RUN_TIMEOUT_MS = 150_000;

const TRAINING_LINE_RGB = [0x6a, 0xa8, 0xff] as const;

/** Context positions and tokens to memorize of the tiny run: the model input is 10 tokens. */
const CONTEXT = 8;
const MEMORIZE = 2;

test.describe.configure({ timeout: LAB_TEST_TIMEOUT_MS });
// As in engine.spec.ts: the screencast competes with the software GPU for the CPU.
test.use({ trace: { mode: 'retain-on-failure', screenshots: false, snapshots: true } });

async function openLab(page: Page): Promise<void> {
  await waitForAdapter(page);
  await page.getByTestId('nav-lab').click();
  await expect(page.getByTestId('view-lab')).toBeVisible();
  await expect(page.getByTestId('nav-lab')).toHaveAttribute('aria-current', 'page');
}

async function setField(page: Page, testId: string, value: number): Promise<void> {
  await page.getByTestId(testId).fill(String(value));
}

async function setTinyRun(page: Page, steps: number): Promise<void> {
  await page.getByTestId('lab-preset-quick').click();
  await page.getByTestId('lab-task').selectOption('selective-copying');
  await setField(page, 'lab-length', CONTEXT);
  await setField(page, 'lab-vocab', 4);
  await setField(page, 'lab-memorize', MEMORIZE);
  await setField(page, 'lab-steps', steps);
  await setField(page, 'lab-seed', 1);
  await expect(page.getByTestId('lab-sizes')).toContainText(`Model input ${CONTEXT + MEMORIZE} tokens`);
}

test('runs S6 and S4 and draws delta under the tokens', async ({ app }) => {
  await openLab(app);
  await setTinyRun(app, 24);

  await test.step('an S6 run trains with a live loss curve', async () => {
    await app.getByTestId('lab-layer-s6').click();
    await expect(app.getByTestId('lab-layer-s6')).toHaveAttribute('aria-checked', 'true');
    await app.getByTestId('lab-run').click();
    // The form is locked while the run is in flight.
    await expect(app.getByTestId('lab-length')).toBeDisabled();
    await expect(app.getByTestId('lab-layer-s4')).toBeDisabled();
    await expect(app.getByTestId('lab-cancel')).toBeEnabled();
    await expect(app.getByTestId('status-lab')).toBeVisible();

    await expect(app.getByTestId('lab-step')).toHaveText(/^[1-9][0-9]* \/ 24$/, { timeout: LAB_RUN_TIMEOUT_MS });
    await expect(app.getByTestId('lab-loss')).toHaveText(/^[0-9]+\.[0-9]+$/);
    await expect(app.getByTestId('lab-status')).toHaveText('Finished', { timeout: LAB_RUN_TIMEOUT_MS });
    await expect(app.getByTestId('lab-step')).toHaveText('24 / 24');
    await expect(app.getByTestId('lab-loss-chart')).not.toContainText('appears here');
    await expect.poll(() => pixelsOfColor(app, 'lab-loss-chart', TRAINING_LINE_RGB)).toBeGreaterThan(20);
    await expect(app.getByTestId('lab-status-line')).toContainText('Selective (S6) finished');
    await expect(app.getByTestId('lab-run')).toBeEnabled();
    await expect(app.getByTestId('lab-length')).toBeEnabled();
    await expect(app.getByTestId('status-lab')).toHaveCount(0);
  });

  const s6 = app.getByTestId('lab-result-s6');
  await test.step('the S6 result shows accuracy and delta aligned with the tokens', async () => {
    await expect(s6).toHaveAttribute('data-state', 'done');
    await expect(app.getByTestId('lab-result-s6-accuracy')).toHaveText(/^[0-9]{1,3}\.[0-9]%$/);
    await expect(s6.getByTestId('lab-eval-row')).toHaveCount(1);
    await expect(s6.getByTestId('lab-eval-row')).toContainText(String(CONTEXT + MEMORIZE));
    await expect(app.getByTestId('lab-result-s6-roles')).toContainText('to remember');
    await expect(app.getByTestId('lab-result-s6-roles').locator('tbody tr')).toHaveCount(2);

    const cells = s6.getByTestId('token-cell');
    await expect(cells).toHaveCount(CONTEXT + MEMORIZE);
    await expect(s6.locator('[data-testid="token-cell"][data-role="to remember"]')).toHaveCount(MEMORIZE);
    await expect(s6.locator('[data-testid="token-cell"][data-role="marker"]')).toHaveCount(MEMORIZE);
    await expect(s6.getByTestId('answer-cell')).toHaveCount(MEMORIZE);
    await expect(s6.getByTestId('delta-strip-0')).toBeVisible();
    await expect(s6.getByTestId('delta-strip-1')).toBeVisible();

    const map = s6.getByTestId('delta-map');
    await expect.poll(async () => (await canvasPixels(app, 'delta-map')).painted).toBeGreaterThan(0);
    const pixels = await canvasPixels(app, 'delta-map');
    const box = (await map.locator('canvas').boundingBox())!;
    expect(pixels.painted).toBeGreaterThan(box.width * box.height * 0.9);
    // Delta differs between channels and positions, so the map has many colours, not one.
    expect(pixels.colors).toBeGreaterThan(8);

    // Token t sits above column t of the map: the row and the canvas share their edges, and each cell is 1/L of the width.
    const first = (await cells.first().boundingBox())!;
    const last = (await cells.last().boundingBox())!;
    expect(Math.abs(first.x - box.x)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(last.x + last.width - (box.x + box.width))).toBeLessThanOrEqual(1.5);
    expect(Math.abs(first.width - box.width / (CONTEXT + MEMORIZE))).toBeLessThanOrEqual(1);

    // Hovering a token names it and reads out delta at that position.
    const remember = s6.locator('[data-testid="token-cell"][data-role="to remember"]').first();
    await remember.hover();
    await expect(s6.getByTestId('token-map-readout')).toContainText('(to remember): mean delta layer 0');
    await saveScreenshot(app, 'lab-s6');
  });

  await test.step('an S4 run lands beside the S6 result', async () => {
    await expect(app.getByTestId('lab-result-s4')).toHaveAttribute('data-state', 'empty');
    await app.getByTestId('lab-layer-s4').click();
    await app.getByTestId('lab-run').click();
    await expect(app.getByTestId('lab-status')).toHaveText('Finished', { timeout: LAB_RUN_TIMEOUT_MS });
    const s4 = app.getByTestId('lab-result-s4');
    await expect(s4).toHaveAttribute('data-state', 'done');
    await expect(app.getByTestId('lab-result-s4-accuracy')).toHaveText(/^[0-9]{1,3}\.[0-9]%$/);
    await expect(s4.getByTestId('token-cell')).toHaveCount(CONTEXT + MEMORIZE);
    await expect(s6).toHaveAttribute('data-state', 'done');
    // Same settings and seed: nothing to warn about.
    await expect(app.getByTestId('lab-differences')).toHaveCount(0);

    const s6Box = (await s6.boundingBox())!;
    const s4Box = (await s4.boundingBox())!;
    expect(s4Box.x).toBeGreaterThan(s6Box.x + s6Box.width - 1);
    expect(Math.abs(s4Box.y - s6Box.y)).toBeLessThanOrEqual(2);
    await saveScreenshot(app, 'lab');
  });
});

test('cancels a lab run and keeps the audio model', async ({ app }) => {
  await openLab(app);
  const modelBefore = await app.getByTestId('status-model').textContent();
  await setTinyRun(app, 100_000);
  await app.getByTestId('lab-run').click();
  await expect(app.getByTestId('lab-step')).toHaveText(/^[1-9][0-9]* \/ 100,000$/, { timeout: LAB_RUN_TIMEOUT_MS });

  await app.getByTestId('lab-cancel').click();
  await expect(app.getByTestId('lab-status')).toHaveText('Cancelled');
  await expect(app.getByTestId('lab-status-line')).toContainText('was cancelled; no result was kept');
  await expect(app.getByTestId('lab-result-s6')).toHaveAttribute('data-state', 'empty');
  await expect(app.getByTestId('lab-run')).toBeEnabled();
  await expect(app.getByTestId('lab-cancel')).toBeDisabled();
  await expect(app.getByTestId('error-panel')).toHaveCount(0);
  // The step counter stops changing once the run is cancelled.
  const stoppedAt = await app.getByTestId('lab-step').textContent();
  await app.waitForTimeout(500);
  await expect(app.getByTestId('lab-step')).toHaveText(stoppedAt ?? '');
  await expect(app.getByTestId('status-model')).toHaveText(modelBefore ?? '');
});

test('rejects invalid lab settings in the form', async ({ app }) => {
  await waitForAdapter(app);
  // Ctrl+5 opens the Lab, as the desktop menu's shortcut does.
  await app.keyboard.press('Control+5');
  await expect(app.getByTestId('view-lab')).toBeVisible();
  await setField(app, 'lab-length', 4);
  await setField(app, 'lab-memorize', 4);
  await expect(app.getByTestId('lab-settings-problem')).toHaveCount(0);
  // Memorize may not exceed the length; the field rejects 5 and keeps the last valid value.
  await setField(app, 'lab-memorize', 5);
  await expect(app.getByTestId('lab-memorize')).toHaveAttribute('aria-invalid', 'true');
  await setField(app, 'lab-length', 3);
  await expect(app.getByTestId('lab-settings-problem')).toContainText('Tokens to memorize is 4; use a whole number from 1 to 3');
  await expect(app.getByTestId('lab-run')).toBeDisabled();
  await setField(app, 'lab-length', 16);
  await expect(app.getByTestId('lab-settings-problem')).toHaveCount(0);
  await expect(app.getByTestId('lab-run')).toBeEnabled();
});
