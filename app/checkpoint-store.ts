// Checkpoints kept in the app's own folder: `<id>.safetensors` next to `<id>.json` metadata.
// Ids are checked against a strict pattern before they become file names, so no id can
// point outside the folder.

import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from './atomic-write';
import type { CheckpointMeta } from './ipc-contract';
import { expectCheckpointId } from './validate';

export class CheckpointStore {
  constructor(private readonly folder: string) {}

  async list(): Promise<CheckpointMeta[]> {
    await mkdir(this.folder, { recursive: true });
    const metas: CheckpointMeta[] = [];
    for (const name of await readdir(this.folder)) {
      if (!name.endsWith('.json')) continue;
      try {
        const meta = JSON.parse(await readFile(join(this.folder, name), 'utf8')) as CheckpointMeta;
        expectCheckpointId(meta.id, 'id');
        const weights = await stat(this.weightsPath(meta.id));
        metas.push({ ...meta, byteLength: weights.size });
      } catch (error) {
        console.warn(`[checkpoints] skipping ${name}:`, error);
      }
    }
    metas.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return metas;
  }

  /** Writes weights first and metadata last, so a listed checkpoint always has its weights. */
  async write(meta: Omit<CheckpointMeta, 'byteLength'>, bytes: Uint8Array): Promise<CheckpointMeta> {
    expectCheckpointId(meta.id, 'id');
    await mkdir(this.folder, { recursive: true });
    const full: CheckpointMeta = { ...meta, byteLength: bytes.byteLength };
    await writeFileAtomic(this.weightsPath(meta.id), bytes);
    await writeFileAtomic(this.metaPath(meta.id), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }

  async read(id: string): Promise<Uint8Array> {
    expectCheckpointId(id, 'id');
    return new Uint8Array(await readFile(this.weightsPath(id)));
  }

  /** Removes metadata first, so an interrupted delete leaves no listed checkpoint without weights. */
  async delete(id: string): Promise<void> {
    expectCheckpointId(id, 'id');
    await unlink(this.metaPath(id)).catch(ignoreMissing);
    await unlink(this.weightsPath(id)).catch(ignoreMissing);
  }

  private weightsPath(id: string): string {
    return join(this.folder, `${id}.safetensors`);
  }

  private metaPath(id: string): string {
    return join(this.folder, `${id}.json`);
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
