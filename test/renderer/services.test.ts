import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EngineClient, type WorkerLike } from '../../renderer/engine/engine-client';
import type { EngineError, EngineRequest, ModelSummary, WorkerToUiMessage } from '../../renderer/engine/protocol';
import { createAppServices } from '../../renderer/state/services';
import { fakePlatform } from './fakes';

/** Replies to one request: a result, or an error. */
type Reply = { result: unknown } | { error: EngineError };
type Responder = (request: EngineRequest) => Reply | undefined;

const MODEL: ModelSummary = { name: 'm', source: 'checkpoint', parameterCount: 1, backbone: 'flat', poolFactors: [], layers: 1, modelWidth: 16, innerWidth: 32, stateSize: 8, sampleRateHz: 16000, trainedSteps: null };

/**
 * A worker that replies to `init` with an adapter, to other commands through `respond`
 * (engine-unavailable when it returns nothing), and lets the test push events.
 */
class ScriptedWorker implements WorkerLike {
  private messageListeners: Array<(event: MessageEvent) => void> = [];
  readonly requests: EngineRequest[] = [];
  terminated = false;

  constructor(private readonly respond: Responder = () => undefined) {}

  postMessage(message: unknown): void {
    const request = message as EngineRequest;
    this.requests.push(request);
    queueMicrotask(() => {
      if (request.command === 'init') {
        this.push({ kind: 'response', id: request.id, command: 'init', ok: true, result: { name: 'Scripted GPU', isFallbackAdapter: false } as never });
        return;
      }
      const reply = this.respond(request) ?? { error: { code: 'engine-unavailable', message: 'no engine', hint: 'wait' } };
      if ('error' in reply) this.push({ kind: 'response', id: request.id, command: request.command, ok: false, error: reply.error });
      else this.push({ kind: 'response', id: request.id, command: request.command, ok: true, result: reply.result } as WorkerToUiMessage);
    });
  }
  addEventListener(type: string, listener: (event: never) => void): void {
    if (type === 'message') this.messageListeners.push(listener as (event: MessageEvent) => void);
  }
  terminate(): void {
    this.terminated = true;
  }
  push(message: WorkerToUiMessage): void {
    for (const listener of this.messageListeners) listener({ data: message } as MessageEvent);
  }
}

function setup(respond?: Responder) {
  const workers: ScriptedWorker[] = [];
  const parts = fakePlatform();
  const services = createAppServices({
    platform: parts.platform,
    startEngine: () => {
      const worker = new ScriptedWorker(respond);
      workers.push(worker);
      return new EngineClient(worker);
    },
    loadClip: async () => ({ ok: false, problem: { code: 'empty', message: 'm', hint: 'h' } }),
    encodeWav: () => new Uint8Array(0),
    createPlayer: () => ({ start: async () => {}, enqueue: () => {}, stop: () => {} }),
    modelSampleRateHz: 16000,
  });
  return { services, workers, parts };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Waits until `condition` holds, letting queued messages and timers run. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (condition()) return;
    await settle();
  }
  assert.fail(`timed out waiting for ${what}`);
}

const NO_DEFAULT: EngineError = { code: 'no-model', message: 'This build has no default model.', hint: 'Open a checkpoint.' };

/** Answers as an engine without a default model that loads any checkpoint. */
const checkpointsOnly: Responder = (request) => {
  if (request.command === 'loadDefaultModel') return { error: NO_DEFAULT };
  if (request.command === 'loadModel') return { result: { ...MODEL, name: request.payload.name } };
  return undefined;
};

const lostDevice = (): WorkerToUiMessage => ({ kind: 'event', type: 'error', error: { code: 'device-lost', message: 'The GPU device was lost: reset.', hint: 'Restart.' } });

test('services initialize the engine and route events', async () => {
  const { services, workers } = setup();
  await settle();
  assert.equal(services.engine.getState().status, 'ready');
  assert.equal(services.engine.getState().adapter?.name, 'Scripted GPU');

  workers[0]!.push({ kind: 'event', type: 'trainProgress', step: 3, loss: 4.2, samplesPerSec: 10, etaSec: 5 });
  assert.deepEqual(services.train.getState().history, [{ step: 3, loss: 4.2 }]);

  workers[0]!.push({ kind: 'event', type: 'inspectProgress', doneSamples: 5, totalSamples: 10 });
  workers[0]!.push({ kind: 'event', type: 'error', error: { code: 'out-of-memory', message: 'GPU out of memory', hint: 'Lower the batch' } });
  assert.equal(services.ui.getState().notices.at(-1)?.title, 'The GPU ran out of memory');
  services.dispose();
});

test('services load the default model after init', async () => {
  const { services, workers } = setup((request) => (request.command === 'loadDefaultModel' ? { result: { ...MODEL, name: 'default', source: 'default' } } : undefined));
  await until(() => services.engine.getState().modelStatus === 'ready', 'the default model');
  assert.equal(services.engine.getState().model?.source, 'default');
  assert.deepEqual(workers[0]!.requests.map((request) => request.command), ['init', 'loadDefaultModel']);
  services.dispose();
});

test('services say when the build has no default model', async () => {
  const { services, parts } = setup(checkpointsOnly);
  await until(() => services.engine.getState().modelStatus === 'missing', 'the missing default model');
  assert.equal(services.engine.getState().defaultModelAvailable, false);
  const notice = services.ui.getState().notices[0];
  assert.equal(notice?.level, 'info');
  assert.equal(notice?.title, 'No default model in this build');

  // Loading a checkpoint closes that notice.
  parts.nextPick.push(new File([new Uint8Array([1, 2, 3])], 'mine.safetensors'));
  await services.openCheckpointFile();
  assert.equal(services.engine.getState().model?.name, 'mine.safetensors');
  assert.deepEqual(services.ui.getState().notices, []);
  services.dispose();
});

test('a lost device restarts the engine with the last checkpoint', async () => {
  const { services, workers, parts } = setup(checkpointsOnly);
  await until(() => services.engine.getState().modelStatus === 'missing', 'the first boot');
  parts.nextPick.push(new File([new Uint8Array([7, 8, 9])], 'mine.safetensors'));
  await services.openCheckpointFile();

  workers[0]!.push(lostDevice());
  const notice = services.ui.getState().notices.at(-1);
  assert.equal(notice?.title, 'The GPU device was lost');
  assert.match(notice?.hint ?? '', /reloading mine\.safetensors/);

  await until(() => services.engine.getState().model !== null && workers.length === 2, 'the restarted engine');
  assert.equal(workers[0]!.terminated, true);
  const reload = workers[1]!.requests.find((request) => request.command === 'loadModel');
  assert.ok(reload, 'the new worker got no loadModel request');
  assert.ok(reload.command === 'loadModel');
  assert.deepEqual([...reload.payload.checkpoint], [7, 8, 9]);
  assert.equal(reload.payload.name, 'mine.safetensors');
  await until(() => services.ui.getState().notices.some((notice) => notice.title === 'The engine was restarted'), 'the restart notice');
  services.dispose();
});

test('a lost device reloads the latest training checkpoint', async () => {
  const { services, workers } = setup(checkpointsOnly);
  await until(() => services.engine.getState().modelStatus === 'missing', 'the first boot');
  workers[0]!.push({ kind: 'event', type: 'checkpoint', step: 40, loss: 3.2, reason: 'periodic', bytes: new Uint8Array([4, 2]) });
  services.train.setState({ status: 'running' });
  services.generate.setState({ status: 'generating' });

  workers[0]!.push(lostDevice());
  assert.equal(services.train.getState().status, 'stopped');
  assert.equal(services.generate.getState().status, 'stopped');
  await until(() => workers.length === 2 && services.engine.getState().model !== null, 'the restarted engine');
  const reload = workers[1]!.requests.find((request) => request.command === 'loadModel');
  assert.ok(reload, 'the new worker got no loadModel request');
  assert.ok(reload.command === 'loadModel');
  assert.deepEqual([...reload.payload.checkpoint], [4, 2]);
  assert.equal(reload.payload.name, 'model step 40');
  services.dispose();
});

test('repeated device loss leaves the restart to the user', async () => {
  const { services, workers } = setup(checkpointsOnly);
  await until(() => services.engine.getState().modelStatus === 'missing', 'the first boot');
  for (let attempt = 1; attempt <= 2; attempt++) {
    workers.at(-1)!.push(lostDevice());
    await until(() => workers.length === attempt + 1 && services.engine.getState().status === 'ready', `restart ${attempt}`);
  }
  workers.at(-1)!.push(lostDevice());
  await settle();
  assert.equal(workers.length, 3);
  assert.equal(services.engine.getState().status, 'failed');
  const notice = services.ui.getState().notices.at(-1);
  assert.match(notice?.message ?? '', /3 times within 60 s, so the app does not restart the engine again by itself/);
  assert.equal(notice?.hint, 'Restart.');
  services.dispose();
});

test('restartEngine replaces the worker', async () => {
  const { services, workers } = setup();
  await settle();
  await services.restartEngine();
  assert.equal(workers.length, 2);
  assert.equal(workers[0]!.terminated, true);
  assert.equal(services.engine.getState().status, 'ready');

  // Events from the old worker no longer reach the stores.
  workers[0]!.push({ kind: 'event', type: 'trainProgress', step: 1, loss: 1, samplesPerSec: 1, etaSec: 1 });
  assert.deepEqual(services.train.getState().history, []);
  services.dispose();
});

test('menu commands switch views', () => {
  const { services } = setup();
  services.runMenuCommand('view-inspect');
  assert.equal(services.ui.getState().view, 'inspect');
  services.runMenuCommand('view-train');
  assert.equal(services.ui.getState().view, 'train');
  services.dispose();
});

test('saving a checkpoint without an engine shows why', async () => {
  const { services } = setup();
  await settle();
  await services.saveModelCheckpoint();
  const notice = services.ui.getState().notices.at(-1);
  assert.equal(notice?.title, 'The Mamba engine is not available in this build yet');
  services.dispose();
});

test('lab events reach the lab store', async () => {
  const { services, workers } = setup((request) => (request.command === 'lab' ? { result: { accepted: true } } : undefined));
  services.runMenuCommand('view-lab');
  assert.equal(services.ui.getState().view, 'lab');
  await settle();

  await services.lab.getState().start();
  const start = workers[0]!.requests.find((request) => request.command === 'lab');
  assert.ok(start, 'no lab request was sent');
  assert.ok(start.command === 'lab');
  assert.equal(start.payload.action, 'start');
  const { runId } = start.payload;
  workers[0]!.push({ kind: 'event', type: 'labProgress', runId, progress: { kind: 'phase', phase: 'training' } });
  workers[0]!.push({ kind: 'event', type: 'labProgress', runId, progress: { kind: 'step', step: 1, totalSteps: 200, loss: 2, gradNorm: 1, lr: 0.01, tokensPerSec: 10, elapsedSec: 0.1 } });
  assert.equal(services.lab.getState().run?.phase, 'training');
  assert.deepEqual(services.lab.getState().run?.history, [{ step: 1, loss: 2 }]);

  // A lost device ends the run in the store, with the device's error.
  workers[0]!.push(lostDevice());
  assert.equal(services.lab.getState().status, 'failed');
  assert.equal(services.lab.getState().error?.code, 'device-lost');
  services.dispose();
});
