import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EngineClient, type WorkerLike } from '../../renderer/engine/engine-client';
import type { EngineRequest, WorkerToUiMessage } from '../../renderer/engine/protocol';
import { createAppServices } from '../../renderer/state/services';
import { fakePlatform } from './fakes';

/** A worker that replies to `init` with an adapter and lets the test push events. */
class ScriptedWorker implements WorkerLike {
  private messageListeners: Array<(event: MessageEvent) => void> = [];
  terminated = false;

  postMessage(message: unknown): void {
    const request = message as EngineRequest;
    queueMicrotask(() => {
      if (request.command === 'init') {
        this.push({ kind: 'response', id: request.id, command: 'init', ok: true, result: { name: 'Scripted GPU', isFallbackAdapter: false } as never });
      } else {
        this.push({ kind: 'response', id: request.id, command: request.command, ok: false, error: { code: 'engine-unavailable', message: 'no engine', hint: 'wait' } });
      }
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

function setup() {
  const workers: ScriptedWorker[] = [];
  const services = createAppServices({
    platform: fakePlatform().platform,
    startEngine: () => {
      const worker = new ScriptedWorker();
      workers.push(worker);
      return new EngineClient(worker);
    },
    loadClip: async () => ({ ok: false, problem: { code: 'empty', message: 'm', hint: 'h' } }),
    encodeWav: () => new Uint8Array(0),
    createPlayer: () => ({ start: async () => {}, enqueue: () => {}, stop: () => {} }),
    modelSampleRateHz: 16000,
  });
  return { services, workers };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

test('services initialize the engine and route events', async () => {
  const { services, workers } = setup();
  await settle();
  assert.equal(services.engine.getState().status, 'ready');
  assert.equal(services.engine.getState().adapter?.name, 'Scripted GPU');

  workers[0]!.push({ kind: 'event', type: 'trainProgress', step: 3, loss: 4.2, samplesPerSec: 10, etaSec: 5 });
  assert.deepEqual(services.train.getState().history, [{ step: 3, loss: 4.2, valLoss: undefined }]);

  workers[0]!.push({ kind: 'event', type: 'error', error: { code: 'device-lost', message: 'GPU reset', hint: 'Restart' } });
  assert.equal(services.engine.getState().status, 'failed');
  assert.equal(services.ui.getState().notices[0]?.title, 'The GPU device was lost');
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
