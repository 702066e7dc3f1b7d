import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { CheckpointStore } from '../../app/checkpoint-store';

const folder = await mkdtemp(join(tmpdir(), 'checkpoint-store-test-'));
after(() => rm(folder, { recursive: true, force: true }));

test('CheckpointStore writes, lists, reads and deletes', async () => {
  const store = new CheckpointStore(join(folder, 'checkpoints'));
  const bytes = new Uint8Array([7, 8, 9, 10]);
  const meta = await store.write({ id: 'ckpt-a-10', label: 'clip step 10', step: 10, loss: 3.2, createdAtMs: 100 }, bytes);
  await store.write({ id: 'ckpt-b-20', label: 'clip step 20', step: 20, loss: null, createdAtMs: 200 }, new Uint8Array(2));

  assert.equal(meta.byteLength, 4);
  assert.deepEqual((await store.list()).map((item) => item.id), ['ckpt-b-20', 'ckpt-a-10']);
  assert.deepEqual([...(await store.read('ckpt-a-10'))], [7, 8, 9, 10]);

  await store.delete('ckpt-a-10');
  assert.deepEqual((await store.list()).map((item) => item.id), ['ckpt-b-20']);
  assert.deepEqual((await readdir(join(folder, 'checkpoints'))).sort(), ['ckpt-b-20.json', 'ckpt-b-20.safetensors']);
});

test('CheckpointStore rejects ids that leave the folder', async () => {
  const store = new CheckpointStore(join(folder, 'other'));
  await assert.rejects(store.read('../secrets'), /lowercase/);
  await assert.rejects(store.delete('a/b'), /lowercase/);
  await assert.rejects(store.write({ id: '..', label: 'x', step: 0, loss: null, createdAtMs: 0 }, new Uint8Array(1)), /lowercase/);
});
