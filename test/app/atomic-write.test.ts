import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { writeFileAtomic } from '../../app/atomic-write';

const folder = await mkdtemp(join(tmpdir(), 'atomic-write-test-'));
after(() => rm(folder, { recursive: true, force: true }));

test('writeFileAtomic creates a new file', async () => {
  const path = join(folder, 'new.bin');
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
});

test('writeFileAtomic replaces an existing file', async () => {
  const path = join(folder, 'project.mambaproj');
  await writeFile(path, 'old contents that are longer than the new ones');
  await writeFileAtomic(path, '{"v":2}');
  assert.equal(await readFile(path, 'utf8'), '{"v":2}');
});

test('writeFileAtomic leaves no temporary files', async () => {
  await writeFileAtomic(join(folder, 'a.wav'), new Uint8Array(1000));
  await writeFileAtomic(join(folder, 'a.wav'), new Uint8Array(10));
  const leftovers = (await readdir(folder)).filter((name) => name.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
});

test('writeFileAtomic keeps the old file when the rename fails', async () => {
  // Renaming a file over a non-empty folder fails; it simulates any failure after the write.
  const target = join(folder, 'occupied');
  await mkdir(target);
  await writeFile(join(target, 'inner'), 'still here');

  await assert.rejects(writeFileAtomic(target, 'new'));
  assert.equal(await readFile(join(target, 'inner'), 'utf8'), 'still here');
  const leftovers = (await readdir(folder)).filter((name) => name.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
});

test('writeFileAtomic fails for a missing folder', async () => {
  await assert.rejects(writeFileAtomic(join(folder, 'missing', 'x.bin'), 'x'), { code: 'ENOENT' });
});
