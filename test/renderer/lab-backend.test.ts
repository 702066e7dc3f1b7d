// The selectivity lab through the engine worker's backend on a real WebGPU device in Node
// (Dawn): a run beside a loaded audio model that it leaves unchanged, its progress and
// result events, stop, cancel, and the busy rules. A tiny model keeps each step fast.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { LAB_DEFAULTS, type LabOptions } from '../../gpu/lab/lab';
import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { acquireNodeDevice } from '../../gpu/node';
import { summarizeAdapter } from '../../renderer/engine/adapter';
import type { EngineBackend } from '../../renderer/engine/engine-host';
import { createMambaBackend } from '../../renderer/engine/mamba-backend';
import type { EngineEvent, EngineEventOf, LabProgress } from '../../renderer/engine/protocol';
import { eventWaiter, rejection } from '../support/engine-events';

const TINY: LabOptions = {
  ...LAB_DEFAULTS['selective-copying'],
  task: { task: 'selective-copying', contextLength: 6, dataVocab: 4, memorize: 2 },
  dModel: 8,
  nLayers: 2,
  dState: 4,
  steps: 6,
  batchSize: 4,
  warmupSteps: 1,
  evalEvery: 3,
  checkSequences: 8,
  evalSequences: 16,
  evalBatchSize: 16,
  evalLengthFactors: [1, 2],
  traceSequences: 4,
  seed: 3,
};

const audioConfig = resolveConfig({ dModel: 16, nLayers: 2, dState: 8 });
const audioCheckpoint = encodeCheckpoint({ config: audioConfig, params: initParameters(audioConfig, 5), trainer: { step: 1 } });

let device: GPUDevice;
let backend: EngineBackend;
const events: EngineEvent[] = [];
const gpuErrors: string[] = [];

before(async () => {
  const acquired = await acquireNodeDevice({ label: 'lab backend test device' });
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
  assert.deepEqual(gpuErrors, [], 'uncaptured WebGPU errors');
});

const nextEvent = eventWaiter(events, 180_000);

function progressOf(from: number, runId: number): LabProgress[] {
  return events
    .slice(from)
    .filter((event): event is EngineEventOf<'labProgress'> => event.type === 'labProgress' && event.runId === runId)
    .map((event) => event.progress);
}

test('lab runs beside the loaded audio model', { timeout: 300_000 }, async () => {
  await backend.loadModel(audioCheckpoint.slice(), 'tiny-audio.safetensors');
  const before = await backend.exportCheckpoint();

  const from = events.length;
  await backend.lab({ action: 'start', runId: 1, options: TINY });

  // While the lab runs, other GPU work waits, and a second run is rejected.
  const busyGenerate = await rejection(backend.generate({ action: 'start', config: { lengthSec: 0.01, temperature: 1, topP: 1, seed: 0, sampleRateHz: 16000 }, promptCodes: null }));
  assert.equal(busyGenerate.code, 'busy');
  assert.match(busyGenerate.message, /selectivity lab is running/);
  const busyInspect = await rejection(backend.inspect(new Uint8Array(64).fill(128), 16000));
  assert.equal(busyInspect.code, 'busy');
  const busyLab = await rejection(backend.lab({ action: 'start', runId: 2, options: TINY }));
  assert.equal(busyLab.code, 'busy');
  assert.match(busyLab.message, /lab run is already running/);

  const end = await nextEvent('labEnd', from);
  assert.equal(end.runId, 1);
  assert.equal(end.reason, 'complete', JSON.stringify(end.error));
  const result = end.result!;

  const progress = progressOf(from, 1);
  const phases = progress.filter((entry) => entry.kind === 'phase').map((entry) => entry.kind === 'phase' && entry.phase);
  assert.deepEqual(phases, ['training', 'evaluating', 'inspecting']);
  const steps = progress.filter((entry) => entry.kind === 'step').map((entry) => entry.kind === 'step' && entry.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  const checks = progress.filter((entry) => entry.kind === 'check').map((entry) => entry.kind === 'check' && entry.step);
  assert.deepEqual(checks, [3, 6]);
  const evaluations = progress.filter((entry) => entry.kind === 'eval').map((entry) => entry.kind === 'eval' && entry.length);
  assert.deepEqual(evaluations, [8, 14]);

  assert.equal(result.stepsRun, 6);
  assert.equal(result.endedEarly, false);
  assert.deepEqual(result.evaluations.map((entry) => entry.factor), [1, 2]);
  assert.ok(result.accuracy >= 0, `accuracy ${result.accuracy}`);
  assert.ok(result.accuracy <= 1, `accuracy ${result.accuracy}`);
  assert.equal('parameters' in result, false);
  assert.deepEqual(result.vocabulary.names, ['0', '1', '2', '3', 'noise', 'marker']);
  const { example } = result;
  assert.equal(example.tokens.length, 8);
  assert.equal(example.channels, 16);
  assert.equal(example.delta.length, 2);
  for (const delta of example.delta) {
    assert.equal(delta.length, 8 * 16);
    assert.ok(delta.every((value) => Number.isFinite(value) && value > 0), 'delta is a softplus, so positive');
  }
  assert.equal(result.deltaByRole.length, 2);
  assert.equal(result.deltaProfile.length, 2);

  // The audio model is untouched: same weights, and it still generates.
  const afterRun = await backend.exportCheckpoint();
  assert.deepEqual(afterRun.bytes, before.bytes);
  const generateFrom = events.length;
  await backend.generate({ action: 'start', config: { lengthSec: 0.01, temperature: 1, topP: 1, seed: 1, sampleRateHz: 16000 }, promptCodes: null });
  const generated = await nextEvent('generateEnd', generateFrom);
  assert.equal(generated.reason, 'complete', JSON.stringify(generated.error));
});

test('lab stop ends training and still evaluates', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.lab({ action: 'start', runId: 3, options: { ...TINY, steps: 100_000, evalEvery: 0 } });
  await nextEvent('labProgress', from, (event) => event.progress.kind === 'step');
  await backend.lab({ action: 'stop' });
  const end = await nextEvent('labEnd', from);
  assert.equal(end.reason, 'complete', JSON.stringify(end.error));
  assert.equal(end.result!.endedEarly, true);
  assert.ok(end.result!.stepsRun >= 1, `${end.result!.stepsRun} steps`);
  assert.ok(end.result!.stepsRun < 100_000, `${end.result!.stepsRun} steps`);
  assert.equal(end.result!.evaluations.length, 2);
});

test('lab cancel ends the run without a result', { timeout: 300_000 }, async () => {
  const from = events.length;
  await backend.lab({ action: 'start', runId: 4, options: { ...TINY, steps: 100_000 } });
  await nextEvent('labProgress', from, (event) => event.progress.kind === 'step');
  await backend.lab({ action: 'cancel' });
  // cancel resolves once the run has ended, so its end event was already sent.
  const ends = events.slice(from).filter((event): event is EngineEventOf<'labEnd'> => event.type === 'labEnd');
  assert.equal(ends.length, 1);
  assert.equal(ends[0]!.runId, 4);
  assert.equal(ends[0]!.reason, 'cancelled');
  assert.equal(ends[0]!.result, undefined);
  assert.equal(ends[0]!.error, undefined);

  // The engine is free again: cancelling twice is harmless, and a new run starts.
  await backend.lab({ action: 'cancel' });
  await backend.lab({ action: 'stop' });
  const again = events.length;
  await backend.lab({ action: 'start', runId: 5, options: { ...TINY, steps: 2, evalEvery: 0 } });
  const end = await nextEvent('labEnd', again);
  assert.equal(end.reason, 'complete', JSON.stringify(end.error));
});

test('lab rejects invalid requests', async () => {
  const tooLong = await rejection(backend.lab({ action: 'start', runId: 6, options: { ...TINY, task: { task: 'selective-copying', contextLength: 4, dataVocab: 4, memorize: 6 } } }));
  assert.equal(tooLong.code, 'invalid-input');
  assert.match(tooLong.message, /memorize = 6 tokens do not fit in contextLength = 4/);

  const huge = await rejection(backend.lab({ action: 'start', runId: 7, options: { ...TINY, dModel: 100_000 } }));
  assert.equal(huge.code, 'invalid-input');
  assert.match(huge.message, /dModel = 100000/);

  const noRunId = await rejection(backend.lab({ action: 'start', runId: Number.NaN, options: TINY }));
  assert.equal(noRunId.code, 'invalid-request');

  const unknown = await rejection(backend.lab({ action: 'pause' } as never));
  assert.equal(unknown.code, 'invalid-request');
  assert.match(unknown.message, /Unknown lab action "pause"/);
});
