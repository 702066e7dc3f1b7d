// The WebGPU engine through the UI: loading models, fine-tuning with live loss curves and
// checkpoints, generating with a growing waveform, playback, WAV export, inspection
// heatmaps, and readable errors for broken checkpoints.
//
// A tiny randomly initialised model (e2e/support/tiny-model.ts) keeps each step fast on a
// software adapter. Shaders compile at their first use; Mesa caches them on disk, so the
// first run on a machine takes minutes longer than later ones.

import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { Page } from '@playwright/test';

import {
  canvasPixels,
  expect,
  openAudioWithPicker,
  openWithPicker,
  paintedWaveformPixels,
  pixelsOfColor,
  saveScreenshot,
  saveWithPicker,
  test,
  waitForAdapter,
} from './fixtures';
import { sharedAudio } from './support/paths';
import { TINY_UNET_CONFIG, writeTinyCheckpoint } from './support/tiny-model';
import { readWavFacts } from './support/wav-header';

/** Enough for a cold shader cache; a warm one needs a fraction of it. */
const ENGINE_TEST_TIMEOUT_MS = 240_000;
/** Maximum wait for one engine operation, shader compilation included. */
const ENGINE_STEP_TIMEOUT_MS = 150_000;

const TRAINING_LINE_RGB = [0x6a, 0xa8, 0xff] as const;
const VALIDATION_LINE_RGB = [0xff, 0xb4, 0x54] as const;

const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../assets/default-model.safetensors', import.meta.url));

test.describe.configure({ timeout: ENGINE_TEST_TIMEOUT_MS });
// The trace's screencast competes with the software GPU for the CPU, and it made generation
// three times slower on a two-core machine. DOM snapshots are still kept for failures.
test.use({ trace: { mode: 'retain-on-failure', screenshots: false, snapshots: true } });

/** Writes the tiny checkpoint into the test's output folder and loads it from the Train view. */
async function loadTinyModel(page: Page): Promise<void> {
  const path = test.info().outputPath('tiny.safetensors');
  writeTinyCheckpoint(path);
  await waitForAdapter(page);
  await page.getByTestId('nav-train').click();
  // The default model (or its absence) must be settled first, or it could replace the tiny one.
  await expect(page.getByTestId('model-card')).toHaveAttribute('data-model-status', /^(ready|missing)$/);
  await openWithPicker(page, 'open-checkpoint', path);
  await expect(page.getByTestId('model-name')).toHaveText('tiny.safetensors');
  await expect(page.getByTestId('status-model')).toContainText('2 layers · D 16');
}

async function openClip(page: Page, relativePath: string): Promise<void> {
  await page.getByTestId('nav-library').click();
  await openAudioWithPicker(page, sharedAudio(relativePath));
  await expect(page.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
}

async function setField(page: Page, testId: string, value: number): Promise<void> {
  await page.getByTestId(testId).fill(String(value));
}

test('opens with the default model, or says it is missing', async ({ app }) => {
  await waitForAdapter(app);
  await app.getByTestId('nav-train').click();
  const card = app.getByTestId('model-card');
  if (existsSync(DEFAULT_MODEL_PATH)) {
    await expect(card).toHaveAttribute('data-model-status', 'ready');
    await expect(app.getByTestId('model-name')).toHaveText('Default model');
    await expect(app.getByTestId('status-model')).toContainText('default');
  } else {
    await expect(card).toHaveAttribute('data-model-status', 'missing');
    await expect(app.getByTestId('model-problem')).toContainText('assets/default-model.safetensors was missing');
    await expect(app.getByTestId('status-model')).toHaveText('no default model in this build');
    await expect(app.getByTestId('train-start')).toBeDisabled();
  }
});

test('fine-tunes a model with live loss curves and checkpoints', async ({ app }) => {
  await loadTinyModel(app);
  await openClip(app, 'shipped_16k/alsa_Front_Center.wav');
  await app.getByTestId('nav-train').click();

  await test.step('a short run to the end', async () => {
    await setField(app, 'train-batch', 2);
    await setField(app, 'train-window', 256);
    await setField(app, 'train-steps', 6);
    await setField(app, 'train-validation-fraction', 0.2);
    await setField(app, 'train-validate-every', 3);
    await setField(app, 'train-checkpoint-every', 3);
    await app.getByTestId('train-start').click();

    await expect(app.getByTestId('train-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
    await expect(app.getByTestId('train-step')).toHaveText('6 / 6');
    // Losses are in nats per sample: below log(256) = 5.55 plus a margin for a random model.
    await expect(app.getByTestId('train-loss')).toHaveText(/^[0-9]\.[0-9]{3}$/);
    await expect(app.getByTestId('train-val-loss')).toHaveText(/^[0-9]\.[0-9]{3}$/);
    await expect(app.getByTestId('train-rate')).toHaveText(/^[0-9,]+$/);
    await expect(app.getByTestId('loss-chart')).not.toContainText('appear here once training runs');
    await expect.poll(() => pixelsOfColor(app, 'loss-chart', TRAINING_LINE_RGB)).toBeGreaterThan(20);
    await expect.poll(() => pixelsOfColor(app, 'loss-chart', VALIDATION_LINE_RGB)).toBeGreaterThan(20);

    // A periodic checkpoint at step 3 and the last weights at step 6, stored by the platform.
    const rows = app.getByTestId('checkpoint-row');
    await expect(rows).toHaveCount(2);
    await expect(rows.filter({ hasText: 'alsa_Front_Center.wav step 6 (end of run)' })).toHaveCount(1);
    await expect(rows.filter({ hasText: 'alsa_Front_Center.wav step 3' })).toHaveCount(1);
    await saveScreenshot(app, 'train');
  });

  await test.step('pause, resume and stop', async () => {
    await setField(app, 'train-steps', 400);
    await setField(app, 'train-checkpoint-every', 0);
    await app.getByTestId('train-start').click();
    await expect(app.getByTestId('train-step')).toHaveText(/^[1-9][0-9]* \/ 400$/, { timeout: ENGINE_STEP_TIMEOUT_MS });

    await app.getByTestId('train-pause').click();
    await expect(app.getByTestId('train-status')).toHaveText('Paused');
    const pausedAt = await app.getByTestId('train-step').textContent();
    await app.waitForTimeout(500);
    await expect(app.getByTestId('train-step')).toHaveText(pausedAt ?? '');

    await app.getByTestId('train-resume').click();
    await expect(app.getByTestId('train-status')).toHaveText('Training');
    await expect(app.getByTestId('train-step')).not.toHaveText(pausedAt ?? '', { timeout: ENGINE_STEP_TIMEOUT_MS });

    await app.getByTestId('train-stop').click();
    await expect(app.getByTestId('train-status')).toHaveText('Stopped', { timeout: ENGINE_STEP_TIMEOUT_MS });
    // Stopping saves the weights reached, so the last state is never lost.
    await expect(app.getByTestId('checkpoint-row')).toHaveCount(3);
    await expect(app.getByTestId('checkpoint-row').first()).toContainText('(end of run)');
  });
});

test('generates one second, plays it and exports a WAV file', async ({ app }) => {
  await loadTinyModel(app);
  await app.getByTestId('nav-generate').click();
  await setField(app, 'generate-length', 1);
  await expect(app.getByTestId('generated-placeholder')).toBeVisible();

  await test.step('the waveform grows while chunks arrive', async () => {
    const duration = app.getByTestId('generated-duration');
    // Record every value the counter takes, however fast the chunks come.
    await duration.evaluate((element) => {
      const seen: number[] = [];
      (window as unknown as { samplesSeen: number[] }).samplesSeen = seen;
      new MutationObserver(() => seen.push(Number(element.getAttribute('data-samples')))).observe(element, { attributes: true, attributeFilter: ['data-samples'] });
    });
    await app.getByTestId('generate-start').click();
    await expect(app.getByTestId('generate-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
    await expect(duration).toHaveAttribute('data-samples', '16000');

    const seen = await app.evaluate(() => (window as unknown as { samplesSeen: number[] }).samplesSeen);
    const partial = seen.filter((samples) => samples > 0 && samples < 16000);
    expect(partial.length, `sample counts seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect([...partial].sort((a, b) => a - b)).toEqual(partial);
    await expect.poll(() => paintedWaveformPixels(app, 'generated-waveform')).toBeGreaterThan(1000);
  });

  await test.step('chunks played on the audio clock as they arrived', async () => {
    // Headless Chromium has no sound card, but its AudioContext clock still runs.
    const clockSec = Number(await app.getByTestId('live-audio').getAttribute('data-clock'));
    expect(clockSec).toBeGreaterThan(0);
  });

  await test.step('the finished take plays', async () => {
    const play = app.getByTestId('take-play');
    await expect(play).toBeEnabled();
    await play.click();
    await expect(play).toHaveAttribute('data-playing', 'true');
    await expect.poll(async () => Number(await app.getByTestId('take-time').getAttribute('data-seconds'))).toBeGreaterThan(0.05);
    await saveScreenshot(app, 'generate');
    await play.click();
    await expect(play).toHaveAttribute('data-playing', 'false');
  });

  await test.step('the take exports as 16 kHz mono PCM', async () => {
    const path = test.info().outputPath('generated.wav');
    await saveWithPicker(app, 'export-wav', path);
    const facts = readWavFacts(path);
    expect(facts.formatTag).toBe(1);
    expect(facts.bitsPerSample).toBe(16);
    expect(facts.sampleRateHz).toBe(16000);
    expect(facts.channelCount).toBe(1);
    expect(facts.frameCount).toBe(16000);
  });

  await test.step('a stopped take keeps what was generated', async () => {
    await setField(app, 'generate-length', 30);
    await app.getByTestId('generate-start').click();
    const duration = app.getByTestId('generated-duration');
    await expect(duration).toHaveAttribute('data-samples', /^[1-9][0-9]*$/, { timeout: ENGINE_STEP_TIMEOUT_MS });
    await app.getByTestId('generate-stop').click();
    await expect(app.getByTestId('generate-status')).toHaveText('Stopped');
    const samples = Number(await duration.getAttribute('data-samples'));
    expect(samples).toBeGreaterThan(0);
    expect(samples).toBeLessThan(30 * 16000);
    await expect(app.getByTestId('take-play')).toBeEnabled();
    await expect(app.getByTestId('export-wav')).toBeEnabled();
  });
});

test('inspects a clip and the generated take as heatmaps', async ({ app }) => {
  await loadTinyModel(app);
  await openClip(app, 'shipped_16k/alsa_Front_Center.wav');

  await test.step('a clip', async () => {
    await app.getByTestId('nav-inspect').click();
    await expect(app.getByTestId('inspect-waveform')).toHaveAttribute('data-ready', 'true');
    await app.getByTestId('inspect-run').click();
    await expect(app.getByTestId('heatmap-readout')).toContainText('× 32 channels', { timeout: ENGINE_STEP_TIMEOUT_MS });
    const delta = await canvasPixels(app, 'heatmap');
    expect(delta.painted).toBeGreaterThan(10_000);
    expect(delta.colors).toBeGreaterThan(8);

    // The heatmap spans the same seconds as the waveform above it.
    const wave = (await app.getByTestId('inspect-waveform').boundingBox())!;
    const heat = (await app.getByTestId('heatmap').locator('canvas').boundingBox())!;
    expect(Math.abs(heat.x - wave.x)).toBeLessThanOrEqual(2);
    expect(Math.abs(heat.width - wave.width)).toBeLessThanOrEqual(4);

    await app.getByTestId('trace-kind-stateNorm').click();
    await app.getByTestId('trace-layer').selectOption('1');
    await expect.poll(async () => (await canvasPixels(app, 'heatmap')).colors).toBeGreaterThan(8);
    await app.getByTestId('trace-kind-delta').click();
    await saveScreenshot(app, 'inspect');
  });

  await test.step('the generated take', async () => {
    await app.getByTestId('nav-generate').click();
    await setField(app, 'generate-length', 0.25);
    await expect(app.getByTestId('generate-use-prompt')).toBeChecked();
    await app.getByTestId('generate-start').click();
    await expect(app.getByTestId('generate-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
    await expect(app.getByTestId('take')).toContainText('Continues alsa_Front_Center.wav');

    await app.getByTestId('inspect-generated').click();
    await expect(app.getByTestId('view-inspect')).toBeVisible();
    await expect(app.getByTestId('inspect-source-generated')).toHaveAttribute('aria-checked', 'true');
    await app.getByTestId('inspect-run').click();
    await expect(app.getByTestId('heatmap-readout')).toContainText('4,000 steps × 32 channels', { timeout: ENGINE_STEP_TIMEOUT_MS });
    expect((await canvasPixels(app, 'heatmap')).painted).toBeGreaterThan(10_000);
  });
});

test('reports a broken checkpoint and stays usable', async ({ app }) => {
  await waitForAdapter(app);
  await app.getByTestId('nav-train').click();
  await expect(app.getByTestId('model-card')).toHaveAttribute('data-model-status', /^(ready|missing)$/);

  const broken = test.info().outputPath('broken.safetensors');
  writeFileSync(broken, 'this is not a safetensors file');
  await openWithPicker(app, 'open-checkpoint', broken);

  const notice = app.getByTestId('notice').filter({ hasText: 'The checkpoint could not be loaded' });
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('broken.safetensors');
  await expect(notice).not.toContainText(/Error:|undefined|\[object/);
  await saveScreenshot(app, 'broken-checkpoint');

  // The app goes on: a valid checkpoint loads and generates.
  const tiny = test.info().outputPath('tiny.safetensors');
  writeTinyCheckpoint(tiny);
  await openWithPicker(app, 'open-checkpoint', tiny);
  await expect(app.getByTestId('model-name')).toHaveText('tiny.safetensors');
  await app.getByTestId('nav-generate').click();
  await setField(app, 'generate-length', 0.1);
  await app.getByTestId('generate-start').click();
  await expect(app.getByTestId('generate-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
});

test('loads a SaShiMi U-Net, fine-tunes, generates and inspects it', async ({ app }) => {
  await waitForAdapter(app);
  await app.getByTestId('nav-train').click();
  await expect(app.getByTestId('model-card')).toHaveAttribute('data-model-status', /^(ready|missing)$/);
  const path = test.info().outputPath('unet.safetensors');
  writeTinyCheckpoint(path, 3, TINY_UNET_CONFIG);
  await openWithPicker(app, 'open-checkpoint', path);
  await expect(app.getByTestId('model-name')).toHaveText('unet.safetensors');
  await expect(app.getByTestId('model-backbone')).toHaveText('U-Net 2×2');
  await expect(app.getByTestId('status-model')).toContainText('U-Net 2×2 · 5 blocks · D 8');

  await openClip(app, 'shipped_16k/alsa_Front_Center.wav');
  await app.getByTestId('nav-train').click();
  await setField(app, 'train-batch', 2);
  await setField(app, 'train-window', 256);
  await setField(app, 'train-steps', 2);
  await setField(app, 'train-checkpoint-every', 0);
  await app.getByTestId('train-start').click();
  await expect(app.getByTestId('train-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
  await expect(app.getByTestId('train-step')).toHaveText('2 / 2');
  await expect(app.getByTestId('checkpoint-row').filter({ hasText: 'step 2 (end of run)' })).toHaveCount(1);

  await app.getByTestId('nav-generate').click();
  await setField(app, 'generate-length', 0.1);
  await app.getByTestId('generate-start').click();
  await expect(app.getByTestId('generate-status')).toHaveText('Finished', { timeout: ENGINE_STEP_TIMEOUT_MS });
  await saveScreenshot(app, 'unet-generated');

  // The take's traces: 1,600 samples, each block at its own width (D 8, 16, 32 times expand 2).
  await app.getByTestId('inspect-generated').click();
  await expect(app.getByTestId('view-inspect')).toBeVisible();
  await app.getByTestId('inspect-run').click();
  await expect(app.getByTestId('heatmap-readout')).toContainText('1,600 steps × 16 channels', { timeout: ENGINE_STEP_TIMEOUT_MS });
  await app.getByTestId('trace-layer').selectOption({ label: '2 · level 2 center' });
  await expect(app.getByTestId('heatmap-readout')).toContainText('1,600 steps × 64 channels');
  expect((await canvasPixels(app, 'heatmap')).painted).toBeGreaterThan(1_000);
  await saveScreenshot(app, 'unet-inspect');
});
