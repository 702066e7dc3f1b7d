import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import type { RecentFile } from '../../app/ipc-contract';
import { addRecentFile, MAX_RECENT_FILES, RecentFilesStore, sanitizeRecentFiles } from '../../app/recent-files';

const folder = await mkdtemp(join(tmpdir(), 'recent-files-test-'));
after(() => rm(folder, { recursive: true, force: true }));

const entry = (path: string, openedAtMs: number): RecentFile => ({ path, name: path.split('/').pop()!, kind: 'audio', openedAtMs });

test('addRecentFile moves a reopened file to the front', () => {
  const list = [entry('/a.wav', 3), entry('/b.wav', 2), entry('/c.wav', 1)];
  const next = addRecentFile(list, entry('/c.wav', 4));
  assert.deepEqual(next.map((item) => item.path), ['/c.wav', '/a.wav', '/b.wav']);
});

test('addRecentFile caps the list', () => {
  let list: RecentFile[] = [];
  for (let i = 0; i < MAX_RECENT_FILES + 5; i++) list = addRecentFile(list, entry(`/${i}.wav`, i));
  assert.equal(list.length, MAX_RECENT_FILES);
  assert.equal(list[0]!.path, `/${MAX_RECENT_FILES + 4}.wav`);
});

test('sanitizeRecentFiles drops malformed entries', () => {
  const value = [entry('/ok.wav', 5), { path: 3 }, null, { ...entry('/bad-kind.wav', 1), kind: 'wav' }, entry('/ok.wav', 1), 'text'];
  assert.deepEqual(sanitizeRecentFiles(value), [entry('/ok.wav', 5)]);
  assert.deepEqual(sanitizeRecentFiles({ not: 'a list' }), []);
});

test('RecentFilesStore persists across instances', async () => {
  const path = join(folder, 'recent.json');
  const first = new RecentFilesStore(path);
  await first.load();
  await first.add(entry('/x.wav', 1));
  await first.add(entry('/y.wav', 2));

  const second = new RecentFilesStore(path);
  assert.deepEqual((await second.load()).map((item) => item.path), ['/y.wav', '/x.wav']);
  assert.ok(second.has('/x.wav'));
  assert.equal(second.has('/z.wav'), undefined);
});

test('RecentFilesStore reads a corrupt file as empty', async () => {
  const path = join(folder, 'corrupt.json');
  await writeFile(path, '{ not json');
  const store = new RecentFilesStore(path);
  const originalWarn = console.warn;
  console.warn = () => {};
  try {
    assert.deepEqual(await store.load(), []);
  } finally {
    console.warn = originalWarn;
  }
});
