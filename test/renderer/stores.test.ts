import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { ClipLoadResult } from '../../renderer/audio-bridge';
import { createGenerateStore, type ChunkPlayer } from '../../renderer/state/generate-store';
import { INSPECT_CONTEXT_SAMPLES, MAX_INSPECT_SEC, MAX_PROMPT_SEC } from '../../renderer/engine/limits';
import { clipInspectionInput, createInspectStore } from '../../renderer/state/inspect-store';
import { createLibraryStore, normalizeRegion, selectedClip, type ClipEntry } from '../../renderer/state/library-store';
import { createTrainStore } from '../../renderer/state/train-store';
import { fakeEngine, fakePlatform } from './fakes';

const format = { container: 'wav', codec: 'pcm-s16', sampleRateHz: 16000, channelCount: 1, frameCount: 16000, durationSec: 1, bitsPerSample: 16 } as const;

async function fakeLoad(bytes: Uint8Array, fileName: string): Promise<ClipLoadResult> {
  if (fileName.startsWith('broken')) return { ok: false, problem: { code: 'empty', message: 'The data chunk is empty.', hint: 'Open another file.' } };
  const samples = new Float32Array(bytes.byteLength);
  return { ok: true, format, model: { sampleRateHz: 16000, samples, codes: new Uint8Array(bytes.byteLength).fill(128), gain: 1 }, unusable: null, warnings: [] };
}

function readyClip(length: number): ClipEntry {
  return {
    id: 'clip-x',
    fileName: 'x.wav',
    byteLength: length,
    status: 'ready',
    format: { ...format, durationSec: length / 16000 },
    model: { sampleRateHz: 16000, samples: new Float32Array(length), codes: Uint8Array.from({ length }, (_, i) => i % 256), gain: 1 },
    problem: null,
    unusable: null,
    warnings: [],
    sourceBytes: new Uint8Array(0),
    region: null,
  };
}

test('library decodes files and keeps failures readable', async () => {
  const { platform } = fakePlatform();
  const problems: string[] = [];
  const library = createLibraryStore({ platform, loadClip: fakeLoad, reportProblem: (title) => problems.push(title) });
  await library.getState().addFiles([
    { name: 'good.wav', bytes: new Uint8Array(16000) },
    { name: 'broken.wav', bytes: new Uint8Array(0) },
  ]);
  const [good, broken] = library.getState().clips;
  assert.equal(good!.status, 'ready');
  assert.equal(good!.format?.sampleRateHz, 16000);
  assert.equal(broken!.status, 'failed');
  assert.equal(broken!.problem?.message, 'The data chunk is empty.');
  assert.equal(selectedClip(library.getState())?.id, broken!.id);
  assert.deepEqual(problems, []);
});

test('library skips dropped files that are not audio', async () => {
  const { platform } = fakePlatform();
  const problems: string[] = [];
  const library = createLibraryStore({ platform, loadClip: fakeLoad, reportProblem: (_title, message) => problems.push(message) });
  await library.getState().openDropped([new File([new Uint8Array(8)], 'notes.txt'), new File([new Uint8Array(8)], 'take.wav')]);
  assert.deepEqual(library.getState().clips.map((clip) => clip.fileName), ['take.wav']);
  assert.deepEqual(problems, ['notes.txt is not an audio file.']);
  assert.deepEqual((await platform.listRecent()).map((entry) => entry.name), ['take.wav']);
});

test('library removes clips and moves the selection', async () => {
  const { platform } = fakePlatform();
  const library = createLibraryStore({ platform, loadClip: fakeLoad, reportProblem: () => {} });
  await library.getState().addFiles(['a', 'b', 'c'].map((name) => ({ name: `${name}.wav`, bytes: new Uint8Array(8) })));
  const [, b, c] = library.getState().clips;
  library.getState().select(b!.id);
  library.getState().remove(b!.id);
  assert.equal(library.getState().selectedId, c!.id);
});

test('normalizeRegion orders, clamps and drops empty regions', () => {
  assert.deepEqual(normalizeRegion({ startSec: 3, endSec: 1 }, 10, 16000), { startSec: 1, endSec: 3 });
  assert.deepEqual(normalizeRegion({ startSec: -1, endSec: 20 }, 10, 16000), { startSec: 0, endSec: 10 });
  assert.equal(normalizeRegion({ startSec: 2, endSec: 2 }, 10, 16000), null);
});

function trainHarness(handlers: Parameters<typeof fakeEngine>[0] = {}) {
  const engine = fakeEngine(handlers);
  const parts = fakePlatform();
  const problems: string[] = [];
  const store = createTrainStore({
    getEngine: () => engine,
    platform: parts.platform,
    loadCheckpointIntoEngine: async () => true,
    reportProblem: (title) => problems.push(title),
    now: () => 1_700_000_000_000,
  });
  return { engine, store, problems, platform: parts.platform };
}

test('training without an engine fails with its error', async () => {
  const { store } = trainHarness();
  await store.getState().start(readyClip(100_000));
  assert.equal(store.getState().status, 'failed');
  assert.equal(store.getState().error?.code, 'engine-unavailable');
  assert.deepEqual(store.getState().history, []);
});

test('training sends the split span and follows progress', async () => {
  const { store, engine } = trainHarness({ train: () => ({ accepted: true }) });
  store.getState().setConfig({ windowSamples: 1000, validationFraction: 0.25 });
  const clip = { ...readyClip(80_000), region: { startSec: 1, endSec: 3 } };
  await store.getState().start(clip);

  const sent = engine.requests[0]!.payload as { action: string; trainCodes: Uint8Array; validationCodes: Uint8Array };
  assert.equal(sent.action, 'start');
  assert.equal(sent.trainCodes.length, 24_000);
  assert.equal(sent.validationCodes.length, 8_000);
  assert.equal(sent.trainCodes[0], 16_000 % 256);
  assert.equal(store.getState().status, 'running');

  store.getState().applyProgress({ step: 1, loss: 5.5, samplesPerSec: 900, etaSec: 100 });
  store.getState().applyProgress({ step: 2, loss: 5.1, valLoss: 5.3, samplesPerSec: 950, etaSec: 98 });
  assert.deepEqual(store.getState().history, [
    { step: 1, loss: 5.5 },
    { step: 2, loss: 5.1, valLoss: 5.3 },
  ]);
  store.getState().applyRunState('finished');
  assert.equal(store.getState().status, 'finished');
});

test('training merges a validation report into its step', async () => {
  const { store } = trainHarness({ train: () => ({ accepted: true }) });
  await store.getState().start(readyClip(100_000));

  // Before the first step the engine reports only the starting validation loss.
  store.getState().applyProgress({ step: 0, loss: null, valLoss: 5.9, samplesPerSec: 0, etaSec: Number.NaN });
  store.getState().applyProgress({ step: 1, loss: 5.5, samplesPerSec: 900, etaSec: 100 });
  store.getState().applyProgress({ step: 1, loss: 5.5, valLoss: 5.4, samplesPerSec: 900, etaSec: 100 });
  assert.deepEqual(store.getState().history, [
    { step: 0, loss: null, valLoss: 5.9 },
    { step: 1, loss: 5.5, valLoss: 5.4 },
  ]);
  assert.equal(store.getState().latest?.loss, 5.5);
  assert.equal(store.getState().latest?.valLoss, 5.4);
});

test('training shows the error of a failed run', async () => {
  const { store } = trainHarness({ train: () => ({ accepted: true }) });
  await store.getState().start(readyClip(100_000));
  store.getState().applyRunState('failed', { code: 'training-diverged', message: 'Training stopped at step 3.', hint: 'Lower the learning rate.' });
  assert.equal(store.getState().status, 'failed');
  assert.equal(store.getState().error?.code, 'training-diverged');
});

test('training rejects a span shorter than a window', async () => {
  const { store, engine } = trainHarness({ train: () => ({ accepted: true }) });
  await store.getState().start(readyClip(1000));
  assert.equal(store.getState().status, 'failed');
  assert.match(store.getState().error?.message ?? '', /fewer than one window/);
  assert.equal(engine.requests.length, 0);
});

test('checkpoint events are stored and listed', async () => {
  const { store, platform } = trainHarness({ train: () => ({ accepted: true }) });
  await store.getState().start(readyClip(100_000));
  await store.getState().storeCheckpoint(500, 3.25, 'periodic', new Uint8Array([1, 2, 3]));
  const [meta] = store.getState().checkpoints;
  assert.equal(meta?.label, 'x.wav step 500');
  assert.equal(meta?.byteLength, 3);
  assert.deepEqual([...(await platform.readCheckpoint(meta!.id))], [1, 2, 3]);

  await store.getState().storeCheckpoint(620, 3.1, 'final', new Uint8Array([4]));
  const labels = store.getState().checkpoints.map((checkpoint) => checkpoint.label).sort();
  assert.deepEqual(labels, ['x.wav step 500', 'x.wav step 620 (end of run)']);
});

function generateHarness(handlers: Parameters<typeof fakeEngine>[0] = {}) {
  const engine = fakeEngine(handlers);
  const parts = fakePlatform();
  const played: number[] = [];
  const player: ChunkPlayer = { start: async () => {}, enqueue: (samples) => played.push(samples.length), stop: () => played.push(-1) };
  const store = createGenerateStore({
    getEngine: () => engine,
    platform: parts.platform,
    sampleRateHz: 16000,
    createPlayer: () => player,
    encodeWav: (samples) => new Uint8Array(samples.length),
    reportProblem: () => {},
  });
  return { engine, store, played, downloads: parts.downloads };
}

test('generation appends chunks in order and exports them', async () => {
  const { store, played, downloads, engine } = generateHarness({ generate: () => ({ accepted: true }) });
  await store.getState().start(null);
  assert.equal((engine.requests[0]!.payload as { promptCodes: unknown }).promptCodes, null);
  store.getState().appendChunk(new Float32Array(100), new Uint8Array(100).fill(1), 0);
  store.getState().appendChunk(new Float32Array(50), new Uint8Array(50).fill(2), 100);
  store.getState().appendChunk(new Float32Array(7), new Uint8Array(7), 999);
  assert.equal(store.getState().totalSamples, 150);
  assert.deepEqual(played, [100, 50]);
  assert.deepEqual(
    store.getState().codeChunks.map((codes) => codes.length),
    [100, 50],
  );

  store.getState().finish('complete');
  assert.equal(store.getState().status, 'finished');
  assert.equal(store.getState().takeWav?.length, 150);
  await store.getState().exportWav();
  assert.equal(downloads[0]?.name, 'generated.wav');
  assert.equal(downloads[0]?.bytes.length, 150);
});

test('generation ignores chunks after the take ended', async () => {
  const { store } = generateHarness({ generate: () => ({ accepted: true }) });
  await store.getState().start(null);
  store.getState().appendChunk(new Float32Array(10), new Uint8Array(10), 0);
  store.getState().finish('stopped');
  store.getState().appendChunk(new Float32Array(10), new Uint8Array(10), 10);
  assert.equal(store.getState().status, 'stopped');
  assert.equal(store.getState().totalSamples, 10);
});

test('generation shows the error of a failed take', async () => {
  const { store } = generateHarness({ generate: () => ({ accepted: true }) });
  await store.getState().start(null);
  store.getState().finish('failed', { code: 'out-of-memory', message: 'The GPU ran out of memory.', hint: 'Close other programs.' });
  assert.equal(store.getState().status, 'failed');
  assert.equal(store.getState().error?.code, 'out-of-memory');
  assert.equal(store.getState().takeWav, null);
});

test('generation primes with the selected region', async () => {
  const { store, engine } = generateHarness({ generate: () => ({ accepted: true }) });
  await store.getState().start({ ...readyClip(32_000), region: { startSec: 0.5, endSec: 1 } });
  const payload = engine.requests[0]!.payload as { promptCodes: Uint8Array; config: { sampleRateHz: number } };
  assert.equal(payload.promptCodes.length, 8000);
  assert.equal(payload.config.sampleRateHz, 16000);
  assert.equal(store.getState().promptCodes?.length, 8000);
  assert.equal(store.getState().promptName, 'x.wav');
});

test('generation primes with the last seconds of a long prompt', async () => {
  const { store, engine } = generateHarness({ generate: () => ({ accepted: true }) });
  const clip = readyClip(16_000 * (MAX_PROMPT_SEC + 3));
  await store.getState().start(clip);
  const payload = engine.requests[0]!.payload as { promptCodes: Uint8Array };
  assert.equal(payload.promptCodes.length, 16_000 * MAX_PROMPT_SEC);
  // The tail: the last code of the clip is the last code of the prompt.
  assert.equal(payload.promptCodes.at(-1), clip.model!.codes.at(-1));
});

test('generation rejects invalid settings before the engine', async () => {
  const { store, engine } = generateHarness({ generate: () => ({ accepted: true }) });
  store.getState().setSettings({ topP: 0 });
  await store.getState().start(null);
  assert.equal(store.getState().status, 'failed');
  assert.match(store.getState().error?.message ?? '', /Top-p 0/);
  assert.equal(engine.requests.length, 0);
});

test('inspection stores traces and selects the first', async () => {
  const data = new Float32Array(4);
  const engine = fakeEngine({ inspect: () => ({ traces: [{ layer: 2, kind: 'gate', timeSteps: 2, channels: 2, samplesPerStep: 1, data }] }) });
  const store = createInspectStore(() => engine);
  await store.getState().runOnClip({ ...readyClip(16_000), region: { startSec: 0.25, endSec: 0.5 } });
  assert.equal(store.getState().status, 'done');
  assert.equal(store.getState().layer, 2);
  assert.equal(store.getState().kind, 'gate');
  assert.equal(store.getState().offsetSec, 0.25);
  assert.equal(store.getState().durationSec, 0.25);
  const payload = engine.requests[0]!.payload as { codes: Uint8Array; contextSamples: number };
  // The region's 4000 codes, after the 1024 before it that prime the state.
  assert.equal(payload.contextSamples, INSPECT_CONTEXT_SAMPLES);
  assert.equal(payload.codes.length, 4000 + INSPECT_CONTEXT_SAMPLES);
  assert.equal(payload.codes[INSPECT_CONTEXT_SAMPLES], 4000 % 256);
});

test('clip inspection input is cut to the limit', () => {
  const codes = Uint8Array.from({ length: 16_000 * (MAX_INSPECT_SEC + 2) }, (_, i) => i % 256);

  const whole = clipInspectionInput(codes, 16_000, null);
  assert.equal(whole.contextSamples, 0);
  assert.equal(whole.spanSamples, 16_000 * MAX_INSPECT_SEC);
  assert.equal(whole.truncated, true);

  const nearStart = clipInspectionInput(codes, 16_000, { startSec: 0.01, endSec: 0.5 });
  assert.equal(nearStart.contextSamples, 160);
  assert.equal(nearStart.codes.length, 8000);
  assert.equal(nearStart.truncated, false);
});

test('inspection of the generated take includes the prompt as context', async () => {
  const engine = fakeEngine({ inspect: () => ({ traces: [] }) });
  const store = createInspectStore(() => engine);
  const promptCodes = new Uint8Array(3000).fill(9);
  await store.getState().runOnGenerated({ takeNumber: 4, codes: new Uint8Array(500).fill(3), promptCodes, sampleRateHz: 16_000 });
  const payload = engine.requests[0]!.payload as { codes: Uint8Array; contextSamples: number };
  assert.equal(payload.contextSamples, INSPECT_CONTEXT_SAMPLES);
  assert.equal(payload.codes.length, INSPECT_CONTEXT_SAMPLES + 500);
  assert.equal(payload.codes[INSPECT_CONTEXT_SAMPLES - 1], 9);
  assert.equal(payload.codes[INSPECT_CONTEXT_SAMPLES], 3);
  assert.deepEqual(store.getState().subject, { kind: 'generated', takeNumber: 4 });
});

test('inspection without a take explains why', async () => {
  const engine = fakeEngine({});
  const store = createInspectStore(() => engine);
  await store.getState().runOnGenerated(null);
  assert.equal(store.getState().status, 'failed');
  assert.equal(store.getState().error?.code, 'invalid-input');
  assert.equal(engine.requests.length, 0);
});
