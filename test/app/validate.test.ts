import assert from 'node:assert/strict';
import { isAbsolute } from 'node:path';
import { test } from 'node:test';

import {
  expectBytes,
  expectCheckpointId,
  expectFilePath,
  expectString,
  IpcArgumentError,
  parseCheckpointMeta,
  parseOpenFilesRequest,
  parseSaveFileRequest,
} from '../../app/validate';

test('parseOpenFilesRequest accepts valid requests', () => {
  assert.deepEqual(parseOpenFilesRequest({ kind: 'audio', multiple: true }), { kind: 'audio', multiple: true });
  assert.deepEqual(parseOpenFilesRequest({ kind: 'checkpoint', multiple: false }), { kind: 'checkpoint', multiple: false });
});

test('parseOpenFilesRequest rejects bad shapes', () => {
  const cases: unknown[] = [null, 'audio', [], { kind: 'wav', multiple: true }, { kind: 'audio' }, { kind: 'audio', multiple: 'yes' }];
  for (const value of cases) {
    assert.throws(() => parseOpenFilesRequest(value), IpcArgumentError, `accepted ${JSON.stringify(value)}`);
  }
});

test('parseSaveFileRequest rejects folders in names', () => {
  const bytes = new Uint8Array(4);
  assert.throws(() => parseSaveFileRequest({ kind: 'wav', suggestedName: '../evil.wav', bytes }), /base name/);
  assert.throws(() => parseSaveFileRequest({ kind: 'wav', suggestedName: 'a\\b.wav', bytes }), /base name/);
  assert.equal(parseSaveFileRequest({ kind: 'wav', suggestedName: 'take 1.wav', bytes }).suggestedName, 'take 1.wav');
});

test('parseSaveFileRequest rejects non-byte payloads', () => {
  assert.throws(() => parseSaveFileRequest({ kind: 'project', suggestedName: 'p', bytes: [1, 2, 3] }), /Uint8Array/);
  assert.throws(() => parseSaveFileRequest({ kind: 'audio', suggestedName: 'p', bytes: new Uint8Array(1) }), /expected one of/);
});

test('expectBytes enforces the size limit', () => {
  assert.equal(expectBytes(new Uint8Array(8), 'bytes', 8).byteLength, 8);
  assert.throws(() => expectBytes(new Uint8Array(9), 'bytes', 8), /maximum/);
});

test('expectString rejects empty, long and NUL strings', () => {
  assert.throws(() => expectString('', 'name', 10), /empty/);
  assert.throws(() => expectString('x'.repeat(11), 'name', 10), /maximum is 10/);
  assert.throws(() => expectString('a\0b', 'name', 10), /NUL/);
  assert.throws(() => expectString(5, 'name', 10), /expected a string/);
});

test('expectFilePath requires absolute paths of the kind', () => {
  assert.equal(expectFilePath('/home/u/clip.WAV', 'path', 'audio', isAbsolute), '/home/u/clip.WAV');
  assert.throws(() => expectFilePath('clip.wav', 'path', 'audio', isAbsolute), /absolute/);
  assert.throws(() => expectFilePath('/etc/passwd', 'path', 'audio', isAbsolute), /must end in/);
  assert.throws(() => expectFilePath('/tmp/model.safetensors', 'path', 'audio', isAbsolute), /must end in/);
});

test('expectCheckpointId allows only safe file names', () => {
  assert.equal(expectCheckpointId('ckpt-lq3x-1200', 'id'), 'ckpt-lq3x-1200');
  for (const bad of ['../x', 'a/b', 'A-B', '-lead', 'x'.repeat(101), 'a.b']) {
    assert.throws(() => expectCheckpointId(bad, 'id'), IpcArgumentError, `accepted ${bad}`);
  }
});

test('parseCheckpointMeta checks every field', () => {
  const valid = { id: 'ckpt-1', label: 'reunion step 10', step: 10, loss: 2.5, createdAtMs: 1 };
  assert.deepEqual(parseCheckpointMeta(valid), valid);
  assert.deepEqual(parseCheckpointMeta({ ...valid, loss: null }).loss, null);
  assert.throws(() => parseCheckpointMeta({ ...valid, step: -1 }), /outside/);
  assert.throws(() => parseCheckpointMeta({ ...valid, loss: Number.NaN }), /finite/);
  assert.throws(() => parseCheckpointMeta({ ...valid, id: 'x/y' }), /lowercase/);
});
