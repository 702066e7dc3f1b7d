import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createEngineHost, type EngineBackend } from '../../renderer/engine/engine-host';
import type { EngineResponse, WorkerToUiMessage } from '../../renderer/engine/protocol';
import { fakeAdapter, fakeGpu, type FakeDevice } from './fake-gpu';

function harness(options: { gpu?: GPU; backend?: Partial<EngineBackend> } = {}) {
  const posted: Array<{ message: WorkerToUiMessage; transfer: Transferable[] }> = [];
  const devices: FakeDevice[] = [];
  const gpu = options.gpu ?? fakeGpu({ default: fakeAdapter({ description: 'Test GPU' }, devices) });
  const host = createEngineHost({
    gpu,
    post: (message, transfer) => posted.push({ message, transfer }),
    createBackend: options.backend ? () => options.backend as EngineBackend : undefined,
  });
  const lastResponse = (): EngineResponse => {
    const found = [...posted].reverse().find((entry) => entry.message.kind === 'response');
    assert.ok(found, 'no response was posted');
    return found.message as EngineResponse;
  };
  return { host, posted, devices, lastResponse };
}

test('init answers with the adapter and opens a device', async () => {
  const { host, devices, lastResponse } = harness();
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  const response = lastResponse();
  assert.ok(response.ok);
  assert.equal(response.id, 1);
  assert.equal(response.command === 'init' && response.result.name, 'Test GPU');
  assert.equal(devices.length, 1);
  assert.equal(devices[0]!.requiredLimits.maxStorageBufferBindingSize, 134217728);
  assert.deepEqual(devices[0]!.requiredFeatures, ['timestamp-query']);
});

test('init without WebGPU reports no-webgpu', async () => {
  const posted: WorkerToUiMessage[] = [];
  const host = createEngineHost({ gpu: undefined, post: (message) => posted.push(message) });
  await host.handleMessage({ kind: 'request', id: 7, command: 'init', payload: {} });
  const response = posted[0] as EngineResponse;
  assert.equal(response.ok, false);
  assert.equal(!response.ok && response.error.code, 'no-webgpu');
});

test('init without adapters reports no-adapter', async () => {
  const { host, lastResponse } = harness({ gpu: fakeGpu({}) });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  const response = lastResponse();
  assert.equal(!response.ok && response.error.code, 'no-adapter');
});

test('init reports a failed requestDevice', async () => {
  const { host, lastResponse } = harness({ gpu: fakeGpu({ default: fakeAdapter({ description: 'Broken', deviceError: 'limits too high' }) }) });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  const response = lastResponse();
  assert.equal(!response.ok && response.error.code, 'no-adapter');
  assert.match(!response.ok ? response.error.message : '', /requestDevice failed on Broken: limits too high/);
});

test('model commands without a backend report engine-unavailable', async () => {
  const { host, lastResponse } = harness();
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  for (const [id, command, payload] of [
    [2, 'loadDefaultModel', {}],
    [3, 'train', { action: 'pause' }],
    [4, 'generate', { action: 'stop' }],
    [5, 'inspect', { codes: new Uint8Array(4), sampleRateHz: 16000 }],
    [6, 'exportCheckpoint', {}],
  ] as const) {
    await host.handleMessage({ kind: 'request', id, command, payload });
    const response = lastResponse();
    assert.equal(response.id, id);
    assert.equal(!response.ok && response.error.code, 'engine-unavailable', `${command} did not report engine-unavailable`);
    assert.match(!response.ok ? response.error.message : '', new RegExp(`"${command}"`));
  }
});

test('model commands before init are rejected', async () => {
  const { host, lastResponse } = harness({ backend: {} });
  await host.handleMessage({ kind: 'request', id: 1, command: 'loadDefaultModel', payload: {} });
  const response = lastResponse();
  assert.equal(!response.ok && response.error.code, 'invalid-request');
});

test('backend results are returned with transferred buffers', async () => {
  const data = new Float32Array(6);
  const { host, posted, lastResponse } = harness({
    backend: {
      inspect: async () => [{ layer: 0, kind: 'delta', timeSteps: 3, channels: 2, samplesPerStep: 1, data }],
      dispose: () => {},
    },
  });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  await host.handleMessage({ kind: 'request', id: 2, command: 'inspect', payload: { codes: new Uint8Array(3), sampleRateHz: 16000 } });
  const response = lastResponse();
  assert.equal(response.ok, true);
  assert.equal(response.command, 'inspect');
  assert.equal(response.ok && response.command === 'inspect' ? response.result.traces[0]!.data : null, data);
  assert.deepEqual(posted.at(-1)!.transfer, [data.buffer]);
});

test('inspect passes the context length to the backend', async () => {
  const calls: Array<[number, number, number | undefined]> = [];
  const { host, lastResponse } = harness({
    backend: {
      inspect: async (codes, sampleRateHz, contextSamples) => {
        calls.push([codes.length, sampleRateHz, contextSamples]);
        return [];
      },
    },
  });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  await host.handleMessage({ kind: 'request', id: 2, command: 'inspect', payload: { codes: new Uint8Array(30), sampleRateHz: 16000, contextSamples: 10 } });
  assert.ok(lastResponse().ok);
  assert.deepEqual(calls, [[30, 16000, 10]]);
});

test('backend errors keep their code', async () => {
  const { host, lastResponse } = harness({
    backend: {
      loadModel: async () => {
        throw { code: 'bad-checkpoint', message: 'Tensor A_log is missing.', hint: 'Export it again.' };
      },
    },
  });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  await host.handleMessage({ kind: 'request', id: 2, command: 'loadModel', payload: { checkpoint: new Uint8Array(1), name: 'x' } });
  const response = lastResponse();
  assert.deepEqual(!response.ok && response.error, { code: 'bad-checkpoint', message: 'Tensor A_log is missing.', hint: 'Export it again.' });
});

test('loadModel rejects a payload without bytes', async () => {
  const { host, lastResponse } = harness({ backend: { loadModel: async () => assert.fail('backend called') } });
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  await host.handleMessage({ kind: 'request', id: 2, command: 'loadModel', payload: { checkpoint: [1, 2], name: 'x' } });
  const response = lastResponse();
  assert.equal(!response.ok && response.error.code, 'invalid-request');
});

test('device loss is reported as an event and init reopens', async () => {
  const { host, posted, devices, lastResponse } = harness();
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  devices[0]!.lose('unknown', 'driver reset');
  await new Promise((resolve) => setTimeout(resolve, 0));

  const event = posted.find((entry) => entry.message.kind === 'event')?.message;
  const error = event?.kind === 'event' && event.type === 'error' ? event.error : null;
  assert.ok(error, 'no error event was posted');
  assert.equal(error.code, 'device-lost');
  assert.match(error.message, /Test GPU was lost: driver reset/);

  await host.handleMessage({ kind: 'request', id: 2, command: 'init', payload: {} });
  assert.ok(lastResponse().ok);
  assert.equal(devices.length, 2);
});

test('a destroyed device is not reported as lost', async () => {
  const { host, posted, devices } = harness();
  await host.handleMessage({ kind: 'request', id: 1, command: 'init', payload: {} });
  devices[0]!.lose('destroyed', '');
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(posted.filter((entry) => entry.message.kind === 'event').length, 0);
});

test('malformed messages get an error event or response', async () => {
  const { host, posted } = harness();
  await host.handleMessage('hello');
  await host.handleMessage({ kind: 'request', id: 9, command: 'nope', payload: {} });
  assert.equal(posted[0]!.message.kind, 'event');
  const response = posted[1]!.message as EngineResponse;
  assert.equal(response.id, 9);
  assert.equal(!response.ok && response.error.code, 'invalid-request');
});
