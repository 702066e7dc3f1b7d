// Opening clips through the file picker and by drag and drop shows their format and draws
// the waveform. A broken file gives a readable error and leaves the app usable.

import { formatChannels, formatDuration, formatRate } from '../renderer/lib/format';
import { dropFile, expect, openAudioWithPicker, paintedWaveformPixels, saveScreenshot, test, waitForAdapter } from './fixtures';
import { sharedAudio } from './support/paths';
import { readWavFacts } from './support/wav-header';

test('opens a clip from the file picker', async ({ app }) => {
  const path = sharedAudio('piano/reunion_16k.wav');
  const facts = readWavFacts(path);
  await waitForAdapter(app);

  await openAudioWithPicker(app, path);

  await expect(app.getByTestId('clip-title')).toHaveText('reunion_16k.wav');
  await expect(app.getByTestId('clip-duration')).toHaveText(formatDuration(facts.durationSec));
  await expect(app.getByTestId('clip-rate')).toHaveText(formatRate(facts.sampleRateHz));
  await expect(app.getByTestId('clip-channels')).toHaveText(formatChannels(facts.channelCount));
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
  await expect.poll(() => paintedWaveformPixels(app, 'waveform')).toBeGreaterThan(1000);
});

test('opens a dropped clip', async ({ app }) => {
  const path = sharedAudio('shipped_16k/alsa_Front_Center.wav');
  const facts = readWavFacts(path);

  await dropFile(app, path);

  await expect(app.getByTestId('clip-title')).toHaveText('alsa_Front_Center.wav');
  await expect(app.getByTestId('clip-duration')).toHaveText(formatDuration(facts.durationSec));
  await expect(app.getByTestId('clip-rate')).toHaveText(formatRate(facts.sampleRateHz));
  await expect(app.getByTestId('clip-channels')).toHaveText(formatChannels(facts.channelCount));
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
});

test('selects a region and zooms the waveform', async ({ app }) => {
  await openAudioWithPicker(app, sharedAudio('piano/reunion_16k.wav'));
  const waveform = app.getByTestId('waveform');
  await expect(waveform).toHaveAttribute('data-ready', 'true');

  // Drag across the middle of the waveform, as a user selecting a span would.
  const box = (await waveform.boundingBox())!;
  await app.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await app.mouse.down();
  await app.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5, { steps: 8 });
  await app.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
  await app.mouse.up();
  await expect(app.getByTestId('region-readout')).toContainText('Region');

  await app.getByTestId('nav-train').click();
  await expect(app.getByTestId('train-source')).toContainText(/region \d+:\d\d\.\d\d – \d+:\d\d\.\d\d/);
  await app.getByTestId('nav-library').click();

  await app.getByTestId('zoom').fill('400');
  await expect
    .poll(() => waveform.evaluate((element) => {
      const scroller = element.firstElementChild?.shadowRoot?.querySelector('.scroll');
      return scroller ? scroller.scrollWidth / scroller.clientWidth : 0;
    }))
    .toBeGreaterThan(5);
});

test('reports a broken file and stays usable', async ({ app }) => {
  await openAudioWithPicker(app, sharedAudio('nasty/zero_length_data.wav'));

  const error = app.getByTestId('clip-error');
  await expect(error).toBeVisible();
  await expect(error).toContainText('could not be opened');
  // The message names the problem in words and tells what to do, not an exception name.
  await expect(error).not.toContainText(/Error:|undefined|\[object/);
  await expect(app.getByTestId('clip-row').first()).toHaveAttribute('data-status', 'failed');
  await saveScreenshot(app, 'broken-file');

  await openAudioWithPicker(app, sharedAudio('shipped_16k/alsa_Front_Center.wav'));
  await expect(app.getByTestId('clip-title')).toHaveText('alsa_Front_Center.wav');
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');
  await expect(app.getByTestId('clip-row')).toHaveCount(2);
});

test('keeps one waveform instance across view switches', async ({ app }) => {
  await openAudioWithPicker(app, sharedAudio('shipped_16k/alsa_Front_Center.wav'));
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');

  await app.getByTestId('nav-inspect').click();
  await app.getByTestId('nav-library').click();
  await expect(app.getByTestId('waveform')).toHaveAttribute('data-ready', 'true');

  // wavesurfer.js mounts one shadow host per instance inside its container.
  const hosts = await app.getByTestId('waveform').evaluate((element) => [...element.children].filter((child) => child.shadowRoot).length);
  expect(hosts).toBe(1);
});
