// Until the engine from gpu/ is wired into renderer/engine/worker.ts, every model command
// must fail with the readable 'engine-unavailable' error rather than show invented data.
// When the engine lands, replace this file with the fine-tune, generate, inspect and
// export tests (see docs/app.md).

import { expect, openAudioWithPicker, saveScreenshot, test, waitForAdapter } from './fixtures';
import { sharedAudio } from './support/paths';

test.beforeEach(async ({ app }) => {
  await waitForAdapter(app);
  await openAudioWithPicker(app, sharedAudio('piano/reunion_16k.wav'));
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
});

test('training reports the missing engine', async ({ app }) => {
  await app.getByTestId('nav-train').click();
  await app.getByTestId('train-start').click();

  const error = app.getByTestId('error-panel');
  await expect(error).toHaveAttribute('data-code', 'engine-unavailable');
  await expect(error).toContainText('not available in this build yet');
  await expect(app.getByTestId('train-status')).toHaveText('Failed');
  await expect(app.getByTestId('loss-chart')).toContainText('appear here once training runs');
  await saveScreenshot(app, 'train-engine-unavailable');
});

test('generation reports the missing engine', async ({ app }) => {
  await app.getByTestId('nav-generate').click();
  await app.getByTestId('generate-start').click();

  await expect(app.getByTestId('error-panel')).toHaveAttribute('data-code', 'engine-unavailable');
  await expect(app.getByTestId('generated-placeholder')).toBeVisible();
  await expect(app.getByTestId('export-wav')).toBeDisabled();
});

test('inspection reports the missing engine', async ({ app }) => {
  await app.getByTestId('nav-inspect').click();
  await app.getByTestId('inspect-run').click();

  await expect(app.getByTestId('error-panel')).toHaveAttribute('data-code', 'engine-unavailable');
  await expect(app.getByTestId('heatmap')).toContainText('No trace to show');
});
