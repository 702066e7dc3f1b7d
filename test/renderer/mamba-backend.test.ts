// The engine worker's backend on a real WebGPU device in Node (Dawn): loading checkpoints,
// fine-tuning with pause, resume and checkpoints, generating while training is paused,
// the busy rules, inspection and export. A tiny model keeps each step fast.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { GpuContext } from '../../gpu/context';
import { createBackboneGenerator } from '../../gpu/generate/backbone';
import { decodeCheckpoint, encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { SashimiLM } from '../../gpu/model/sashimi-lm';
import { acquireNodeDevice } from '../../gpu/node';
import { summarizeAdapter } from '../../renderer/engine/adapter';
import type { EngineBackend } from '../../renderer/engine/engine-host';
import { createMambaBackend } from '../../renderer/engine/mamba-backend';
import type { EngineEvent, EngineEventOf, TrainConfig } from '../../renderer/engine/protocol';
import { assertClose } from '../support/compare';
import { eventWaiter, rejection } from '../support/engine-events';

const config = resolveConfig({ dModel: 16, nLayers: 2, dState: 8 });
const checkpoint = encodeCheckpoint({ config, params: initParameters(config, 3), trainer: { step: 12 } });

const TRAIN: TrainConfig = {
  learningRate: 3e-3,
  batchSize: 2,
  windowSamples: 64,
  maxSteps: 4,
  validationFraction: 0.2,
  weightDecay: 0.1,
  gradClipNorm: 1,
  validateEverySteps: 2,
  checkpointEverySteps: 2,
  seed: 1,
};

/** Returns a repeating ramp with some noise: learnable, so the loss falls within a few steps. */
function audioCodes(length: number): Uint8Array {
  let state = 12345;
  return Uint8Array.from({ length }, (_, i) => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (Math.floor(i / 4) % 64) + 96 + (state >>> 29);
  });
}

let acquired: Awaited<ReturnType<typeof acquireNodeDevice>>;
let device: GPUDevice;
let backend: EngineBackend;
const events: EngineEvent[] = [];
const gpuErrors: string[] = [];

before(async () => {
  acquired = await acquireNodeDevice({ label: 'backend test device' });
  device = acquired.device;
  device.addEventListener('uncapturederror', (event) => gpuErrors.push((event as GPUUncapturedErrorEvent).error.message));
  backend = createMambaBackend(
    { adapter: acquired.adapter, device, adapterSummary: summarizeAdapter(acquired.adapter, 'default'), emit: (event) => events.push(event) },
    { fetchDefaultModel: async () => null, defaultModelLocation: 'assets/default-model.safetensors' },
  );
});

after(() => {
  backend.dispose();
  device.destroy();
});

const nextEvent = eventWaiter(events, 120_000);

test('backend reports a missing default model', async () => {
  const error = await rejection(backend.loadDefaultModel());
  assert.equal(error.code, 'no-model');
  assert.match(error.message, /assets\/default-model\.safetensors was missing/);
});

test('backend rejects a broken checkpoint readably', async () => {
  const error = await rejection(backend.loadModel(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'broken.safetensors'));
  assert.equal(error.code, 'bad-checkpoint');
  assert.match(error.message, /broken\.safetensors/);

  const noModel = await rejection(backend.generate({ action: 'start', config: { lengthSec: 0.01, temperature: 1, topP: 1, seed: 0, sampleRateHz: 16000 }, promptCodes: null }));
  assert.equal(noModel.code, 'no-model');
});

test('backend loads a checkpoint', async () => {
  const summary = await backend.loadModel(checkpoint.slice(), 'tiny.safetensors');
  assert.equal(summary.name, 'tiny.safetensors');
  assert.equal(summary.source, 'checkpoint');
  assert.equal(summary.layers, 2);
  assert.equal(summary.modelWidth, 16);
  assert.equal(summary.innerWidth, 32);
  assert.equal(summary.stateSize, 8);
  assert.equal(summary.trainedSteps, 12);
});

test('backend fine-tunes with progress and checkpoints', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.train({ action: 'start', config: TRAIN, trainCodes: audioCodes(4000), validationCodes: audioCodes(300) });
  const end = await nextEvent('trainState', from, (event) => event.state !== 'running');
  assert.equal(end.state, 'finished', JSON.stringify(end.error));

  const progress = events.slice(from).filter((event): event is EngineEventOf<'trainProgress'> => event.type === 'trainProgress');
  const steps = progress.filter((event) => event.loss !== null).map((event) => event.step);
  assert.deepEqual([...new Set(steps)], [1, 2, 3, 4]);
  // Validation before the first step, then every two steps.
  const validated = progress.filter((event) => event.valLoss !== undefined).map((event) => event.step);
  assert.deepEqual(validated, [0, 2, 4]);
  assert.equal(progress[0]?.loss, null);
  for (const event of progress) if (event.loss !== null) assert.ok(event.loss > 0 && event.loss < 10, `loss ${event.loss} in nats`);

  const checkpoints = events.slice(from).filter((event): event is EngineEventOf<'checkpoint'> => event.type === 'checkpoint');
  assert.deepEqual(
    checkpoints.map((event) => [event.step, event.reason]),
    [
      [2, 'periodic'],
      [4, 'final'],
    ],
  );
  const saved = decodeCheckpoint(checkpoints[1]!.bytes, 'final checkpoint');
  assert.equal(saved.trainer?.step, 4);
  assert.equal(saved.config.dModel, 16);
});

test('backend pauses, generates while paused, and resumes', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.train({ action: 'start', config: { ...TRAIN, maxSteps: 6, checkpointEverySteps: 0 }, trainCodes: audioCodes(4000), validationCodes: audioCodes(300) });
  await nextEvent('trainProgress', from, (event) => event.loss !== null);

  // While training runs, generation and inspection must wait.
  const busy = await rejection(backend.generate({ action: 'start', config: { lengthSec: 0.01, temperature: 1, topP: 1, seed: 0, sampleRateHz: 16000 }, promptCodes: null }));
  assert.equal(busy.code, 'busy');

  await backend.train({ action: 'pause' });
  const paused = await nextEvent('trainState', from, (event) => event.state !== 'running');
  assert.equal(paused.state, 'paused');
  const pausedAt = events.length;
  // A paused run saves no checkpoint: pausing is not the end of the run.
  assert.equal(events.slice(from).some((event) => event.type === 'checkpoint'), false);

  const generateFrom = events.length;
  await backend.generate({ action: 'start', config: { lengthSec: 0.05, temperature: 1, topP: 0.95, seed: 4, sampleRateHz: 16000 }, promptCodes: audioCodes(500) });
  const generated = await nextEvent('generateEnd', generateFrom);
  assert.equal(generated.reason, 'complete', JSON.stringify(generated.error));
  assert.equal(generated.totalSamples, 800);
  const chunks = events.slice(generateFrom).filter((event): event is EngineEventOf<'generateChunk'> => event.type === 'generateChunk');
  let expectedStart = 0;
  for (const chunk of chunks) {
    assert.equal(chunk.startSample, expectedStart);
    assert.equal(chunk.samples.length, chunk.codes.length);
    assert.ok(chunk.samples.every((sample) => sample >= -1 && sample <= 1));
    expectedStart += chunk.samples.length;
  }
  assert.equal(expectedStart, 800);

  await backend.train({ action: 'resume' });
  const end = await nextEvent('trainState', pausedAt, (event) => event.state !== 'running');
  assert.equal(end.state, 'finished', JSON.stringify(end.error));
  const finalCheckpoint = await nextEvent('checkpoint', pausedAt);
  assert.equal(finalCheckpoint.step, 6);
  assert.equal(finalCheckpoint.reason, 'final');
});

test('backend stops a paused run with a final checkpoint', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.train({ action: 'start', config: { ...TRAIN, maxSteps: 50, checkpointEverySteps: 0 }, trainCodes: audioCodes(4000), validationCodes: new Uint8Array(0) });
  await nextEvent('trainProgress', from, (event) => event.loss !== null);
  await backend.train({ action: 'pause' });
  await backend.train({ action: 'stop' });
  const states = events.slice(from).filter((event): event is EngineEventOf<'trainState'> => event.type === 'trainState').map((event) => event.state);
  assert.deepEqual(states, ['running', 'paused', 'stopped']);
  const last = await nextEvent('checkpoint', from);
  assert.equal(last.reason, 'final');
  assert.ok(last.step >= 1, `final step ${last.step}`);
  assert.ok(last.step < 50, `final step ${last.step}`);
  // With no validation part, no validation loss is reported.
  assert.equal(events.slice(from).some((event) => event.type === 'trainProgress' && event.valLoss !== undefined), false);
  // Stopping twice is harmless.
  await backend.train({ action: 'stop' });
});

test('backend stops a generation early', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.generate({ action: 'start', config: { lengthSec: 60, temperature: 1, topP: 1, seed: 2, sampleRateHz: 16000 }, promptCodes: null });
  await nextEvent('generateChunk', from);
  await backend.generate({ action: 'stop' });
  const end = await nextEvent('generateEnd', from);
  assert.equal(end.reason, 'stopped');
  assert.ok(end.totalSamples > 0, `${end.totalSamples} samples before the stop`);
  assert.ok(end.totalSamples < 60 * 16000, `${end.totalSamples} samples before the stop`);
  const delivered = events.slice(from).filter((event) => event.type === 'generateChunk').reduce((sum, event) => sum + (event.type === 'generateChunk' ? event.samples.length : 0), 0);
  assert.equal(delivered, end.totalSamples);
});

test('backend traces a span after its context', { timeout: 300_000 }, async () => {
  const from = events.length;
  const traces = await backend.inspect(audioCodes(600), 16000, 100);
  assert.equal(traces.length, 2 * 3);
  for (const trace of traces) {
    assert.equal(trace.timeSteps, 500);
    assert.equal(trace.channels, 32);
    assert.equal(trace.samplesPerStep, 1);
    assert.equal(trace.data.length, 500 * 32);
    assert.ok(trace.data.every(Number.isFinite), `${trace.kind} of layer ${trace.layer} is finite`);
  }
  const delta = traces.find((trace) => trace.layer === 0 && trace.kind === 'delta')!;
  assert.ok(delta.data.every((value) => value > 0), 'delta is a softplus, so positive');
  const progress = events.slice(from).filter((event): event is EngineEventOf<'inspectProgress'> => event.type === 'inspectProgress');
  assert.deepEqual(progress.at(-1), { kind: 'event', type: 'inspectProgress', doneSamples: 500, totalSamples: 500 });

  const wrongRate = await rejection(backend.inspect(audioCodes(100), 8000));
  assert.equal(wrongRate.code, 'invalid-input');
});

test('backend exports the current weights', async () => {
  const { bytes, step } = await backend.exportCheckpoint();
  const decoded = decodeCheckpoint(bytes, 'export');
  assert.equal(decoded.config.nLayers, 2);
  assert.ok(step > 0);
  assert.deepEqual(gpuErrors, [], 'uncaptured WebGPU errors');
});

test('backend fine-tunes, generates from and inspects a SaShiMi U-Net', { timeout: 300_000 }, async () => {
  const unetConfig = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });
  const unet = encodeCheckpoint({ config: unetConfig, params: initParameters(unetConfig, 5) });
  const summary = await backend.loadModel(unet, 'unet.safetensors');
  assert.equal(summary.backbone, 'sashimi');
  assert.deepEqual(summary.poolFactors, [2, 2]);
  assert.equal(summary.layers, 5);

  // Windows must be whole pooled steps of the innermost level: 4 samples here.
  const badWindow = await rejection(backend.train({ action: 'start', config: { ...TRAIN, windowSamples: 66 }, trainCodes: audioCodes(4000), validationCodes: audioCodes(300) }));
  assert.equal(badWindow.code, 'invalid-input');
  assert.match(badWindow.message, /66 is not a multiple of 4.*such as 68/);

  const from = events.length;
  await backend.train({ action: 'start', config: { ...TRAIN, maxSteps: 2 }, trainCodes: audioCodes(4000), validationCodes: audioCodes(300) });
  const end = await nextEvent('trainState', from, (event) => event.state !== 'running');
  assert.equal(end.state, 'finished', JSON.stringify(end.error));
  const saved = decodeCheckpoint((await nextEvent('checkpoint', from, (event) => event.reason === 'final')).bytes, 'U-Net checkpoint');
  assert.equal(saved.config.backbone, 'sashimi');
  assert.equal(saved.trainer?.step, 2);

  // The app's generation equals a generator built directly from the trained weights.
  const prompt = audioCodes(37);
  const generateFrom = events.length;
  await backend.generate({ action: 'start', config: { lengthSec: 0.01, temperature: 1, topP: 0.9, seed: 8, sampleRateHz: 16000 }, promptCodes: prompt });
  const generated = await nextEvent('generateEnd', generateFrom);
  assert.equal(generated.reason, 'complete', JSON.stringify(generated.error));
  const appCodes = events
    .slice(generateFrom)
    .filter((event): event is EngineEventOf<'generateChunk'> => event.type === 'generateChunk')
    .flatMap((event) => [...event.codes]);
  assert.equal(appCodes.length, 160);

  const ctx = new GpuContext(acquired);
  const generator = createBackboneGenerator(ctx, saved.config, saved.params, { batch: 1 });
  try {
    await generator.step(prompt);
    const directCodes: number[] = [];
    await generator.generate({ samples: 160, temperature: 1, topP: 0.9, seed: 8, chunkSamples: 64, onChunk: (codes) => void directCodes.push(...codes[0]!) });
    assert.deepEqual(appCodes, directCodes);
  } finally {
    generator.destroy();
  }

  // Inspection: every block at its own width, and each level's rows spread over the samples they cover.
  const clip = audioCodes(100);
  const traces = await backend.inspect(clip, 16000);
  assert.equal(traces.length, 5 * 3);
  assert.deepEqual(
    traces.filter((trace) => trace.kind === 'delta').map((trace) => [trace.layer, trace.stage, trace.channels]),
    [
      [0, 'level 0 down', 16],
      [1, 'level 1 down', 32],
      [2, 'level 2 center', 64],
      [3, 'level 1 up', 32],
      [4, 'level 0 up', 16],
    ],
  );
  const model = new SashimiLM(ctx, saved.config, saved.params);
  try {
    const direct = await model.inspect(Uint32Array.from(clip), 1);
    for (const trace of traces) {
      assert.equal(trace.timeSteps, 100);
      assert.equal(trace.samplesPerStep, 1);
      const { stride, [trace.kind]: rows } = direct[trace.layer]!;
      const expected = Float32Array.from({ length: 100 * trace.channels }, (_, i) => rows[Math.floor(Math.floor(i / trace.channels) / stride) * trace.channels + (i % trace.channels)]!);
      assertClose(trace.data, expected, { rtol: 1e-5, atol: 1e-6 }, `block ${trace.layer} ${trace.kind}`);
    }
  } finally {
    model.destroy();
  }
  assert.deepEqual(gpuErrors, [], 'uncaptured WebGPU errors');
});
