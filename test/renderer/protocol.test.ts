import assert from 'node:assert/strict';
import { test } from 'node:test';

import { collectTransferables } from '../../renderer/engine/protocol';
import { parseRequest } from '../../renderer/engine/engine-host';

test('collectTransferables finds nested typed arrays once', () => {
  const samples = new Float32Array(8);
  const codes = new Uint8Array(4);
  const view = new Uint8Array(samples.buffer, 4, 8);
  const message = { kind: 'event', samples, nested: { codes, list: [view, samples] } };
  const found = collectTransferables(message);
  assert.equal(found.length, 2);
  assert.ok(found.includes(samples.buffer as ArrayBuffer));
  assert.ok(found.includes(codes.buffer as ArrayBuffer));
});

test('collectTransferables skips shared buffers and plain values', () => {
  const shared = new Float32Array(new SharedArrayBuffer(16));
  assert.deepEqual(collectTransferables({ shared, n: 1, s: 'x', nothing: null }), []);
  assert.deepEqual(collectTransferables(undefined), []);
});

test('parseRequest accepts a well-formed request', () => {
  const parsed = parseRequest({ kind: 'request', id: 3, command: 'init', payload: {} });
  assert.ok('request' in parsed);
});

test('parseRequest rejects malformed messages', () => {
  const noId = parseRequest({ kind: 'request', command: 'init', payload: {} });
  assert.ok('error' in noId);
  assert.equal(noId.id, null);
  assert.equal(noId.error.code, 'invalid-request');

  const unknown = parseRequest({ kind: 'request', id: 1, command: 'format-disk', payload: {} });
  assert.ok('error' in unknown);
  assert.equal(unknown.id, 1);
  assert.match(unknown.error.message, /Unknown engine command "format-disk"/);

  const noPayload = parseRequest({ kind: 'request', id: 2, command: 'train' });
  assert.ok('error' in noPayload);
  assert.equal(noPayload.command, 'train');

  assert.ok('error' in parseRequest(null));
  assert.ok('error' in parseRequest('init'));
});
