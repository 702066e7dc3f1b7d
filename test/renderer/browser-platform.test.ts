import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_RECENT_COPY_BYTES, MAX_RECENT_ENTRIES } from '../../renderer/platform/browser-platform';
import { fakePlatform } from './fakes';

const file = (name: string, size = 4): File => new File([new Uint8Array(size)], name);

test('openFiles reads picked files and records them as recent', async () => {
  const parts = fakePlatform();
  parts.nextPick = [file('a.wav'), file('b.flac', 10)];
  const opened = await parts.platform.openFiles('audio', { multiple: true });
  assert.deepEqual(opened.map((item) => [item.name, item.bytes.byteLength]), [['a.wav', 4], ['b.flac', 10]]);
  assert.deepEqual((await parts.platform.listRecent()).map((entry) => entry.name), ['b.flac', 'a.wav']);
});

test('openFiles resolves empty when the picker is canceled', async () => {
  const parts = fakePlatform();
  assert.deepEqual(await parts.platform.openFiles('audio', { multiple: false }), []);
});

test('recent list reopens stored copies and caps its length', async () => {
  const parts = fakePlatform();
  for (let i = 0; i < MAX_RECENT_ENTRIES + 3; i++) {
    parts.nextPick = [file(`clip-${i}.wav`)];
    await parts.platform.openFiles('audio', { multiple: false });
  }
  const recent = await parts.platform.listRecent();
  assert.equal(recent.length, MAX_RECENT_ENTRIES);
  assert.equal(recent[0]!.name, `clip-${MAX_RECENT_ENTRIES + 2}.wav`);

  const reopened = await parts.platform.openRecent(recent.at(-1)!.key);
  assert.equal(reopened.name, recent.at(-1)!.name);
  assert.equal((await parts.platform.listRecent())[0]!.name, reopened.name);
});

test('reopening a file by name keeps one entry', async () => {
  const parts = fakePlatform();
  parts.nextPick = [file('same.wav')];
  await parts.platform.openFiles('audio', { multiple: false });
  parts.nextPick = [file('same.wav')];
  await parts.platform.openFiles('audio', { multiple: false });
  assert.equal((await parts.platform.listRecent()).length, 1);
});

test('large files are listed but cannot be reopened', async () => {
  const parts = fakePlatform();
  await parts.platform.rememberRecent({ name: 'huge.wav', bytes: new Uint8Array(MAX_RECENT_COPY_BYTES + 1) }, 'audio');
  const [entry] = await parts.platform.listRecent();
  assert.equal(entry!.canReopen, false);
  await assert.rejects(parts.platform.openRecent(entry!.key), /too large to keep a copy/);
});

test('saveFile downloads with the right extension', async () => {
  const parts = fakePlatform();
  const outcome = await parts.platform.saveFile('wav', 'generated', new Uint8Array(3));
  assert.deepEqual(outcome, { status: 'saved', location: "generated.wav in the browser's downloads" });
  await parts.platform.saveFile('checkpoint', 'model.safetensors', new Uint8Array(1));
  assert.deepEqual(parts.downloads.map((download) => [download.name, download.mimeType]), [
    ['generated.wav', 'audio/wav'],
    ['model.safetensors', 'application/octet-stream'],
  ]);
});

test('checkpoints round-trip through storage', async () => {
  const { platform } = fakePlatform();
  const meta = await platform.writeCheckpoint({ id: 'ckpt-1', label: 'x', step: 5, loss: 1.5, createdAtMs: 10 }, new Uint8Array([1, 2]));
  assert.equal(meta.byteLength, 2);
  assert.deepEqual((await platform.listCheckpoints()).map((item) => item.id), ['ckpt-1']);
  assert.deepEqual([...(await platform.readCheckpoint('ckpt-1'))], [1, 2]);
  await platform.deleteCheckpoint('ckpt-1');
  assert.deepEqual(await platform.listCheckpoints(), []);
  await assert.rejects(platform.readCheckpoint('ckpt-1'), /not in the browser's storage/);
});
