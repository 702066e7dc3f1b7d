// A screenshot of each main view, saved under test-results/ for review, with a clip open
// so the views show real content.

import { expect, openAudioWithPicker, saveScreenshot, test, waitForAdapter } from './fixtures';
import { sharedAudio } from './support/paths';

test('screenshots of the main views', async ({ app }) => {
  await waitForAdapter(app);
  await openAudioWithPicker(app, sharedAudio('shipped_16k/alsa_Front_Center.wav'));
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
  await app.getByTestId('toggle-spectrogram').check();
  await saveScreenshot(app, 'library');

  await app.getByTestId('nav-train').click();
  await expect(app.getByTestId('view-train')).toBeVisible();
  await saveScreenshot(app, 'train');

  await app.getByTestId('nav-generate').click();
  await expect(app.getByTestId('view-generate')).toBeVisible();
  await saveScreenshot(app, 'generate');

  await app.getByTestId('nav-inspect').click();
  await expect(app.getByTestId('inspect-waveform')).toHaveAttribute('data-ready', 'true');
  await saveScreenshot(app, 'inspect');
});
