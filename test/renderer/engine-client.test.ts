import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EngineClient, type WorkerLike } from '../../renderer/engine/engine-client';
import { EngineRequestError } from '../../renderer/engine/errors';
import type { EngineRequest, WorkerToUiMessage } from '../../renderer/engine/protocol';

class FakeWorker implements WorkerLike {
  sent: Array<{ message: EngineRequest; transfer: Transferable[] }> = [];
  terminated = false;
  private listeners = new Map<string, Array<(event: never) => void>>();

  postMessage(message: unknown, transfer: Transferable[]): void {
    this.sent.push({ message: message as EngineRequest, transfer });
  }
  addEventListener(type: string, listener: (event: never) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  terminate(): void {
    this.terminated = true;
  }
  reply(message: WorkerToUiMessage): void {
    for (const listener of this.listeners.get('message') ?? []) listener({ data: message } as never);
  }
  fail(): void {
    for (const listener of this.listeners.get('error') ?? []) listener(new Event('error') as never);
  }
}

test('request resolves with the matching response', async () => {
  const worker = new FakeWorker();
  const client = new EngineClient(worker);
  const first = client.request('loadDefaultModel', {});
  const second = client.request('init', {});
  const [a, b] = worker.sent.map((entry) => entry.message);

  worker.reply({ kind: 'response', id: b!.id, command: 'init', ok: true, result: { name: 'GPU' } as never });
  worker.reply({ kind: 'response', id: a!.id, command: 'loadDefaultModel', ok: false, error: { code: 'engine-unavailable', message: 'm', hint: 'h' } });

  assert.equal((await second).name, 'GPU');
  await assert.rejects(first, (error: unknown) => error instanceof EngineRequestError && error.engineError.code === 'engine-unavailable');
  assert.equal(client.pendingCount, 0);
});

test('request transfers payload buffers', () => {
  const worker = new FakeWorker();
  const client = new EngineClient(worker);
  const codes = new Uint8Array(16);
  void client.request('inspect', { codes, sampleRateHz: 16000 });
  assert.deepEqual(worker.sent[0]!.transfer, [codes.buffer]);
});

test('events reach their listeners until unsubscribed', () => {
  const worker = new FakeWorker();
  const client = new EngineClient(worker);
  const steps: number[] = [];
  const unsubscribe = client.on('trainProgress', (event) => steps.push(event.step));
  const progress = { kind: 'event', type: 'trainProgress', step: 1, loss: 5, samplesPerSec: 100, etaSec: 10 } as const;
  worker.reply(progress);
  worker.reply({ ...progress, step: 2 });
  unsubscribe();
  worker.reply({ ...progress, step: 3 });
  assert.deepEqual(steps, [1, 2]);
});

test('worker failure rejects pending requests', async () => {
  const worker = new FakeWorker();
  const client = new EngineClient(worker);
  const errors: string[] = [];
  client.on('error', (event) => errors.push(event.error.code));
  const pending = client.request('init', {});
  worker.fail();
  await assert.rejects(pending, (error: unknown) => error instanceof EngineRequestError && error.engineError.code === 'internal');
  assert.deepEqual(errors, ['internal']);
});

test('terminate rejects later requests', async () => {
  const worker = new FakeWorker();
  const client = new EngineClient(worker);
  client.terminate();
  assert.equal(worker.terminated, true);
  await assert.rejects(client.request('init', {}), /terminated/);
});
