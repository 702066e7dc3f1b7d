// The recent-files list: pure list operations plus JSON persistence in the user-data folder.

import { readFile } from 'node:fs/promises';

import { writeFileAtomic } from './atomic-write';
import type { RecentFile } from './ipc-contract';

export const MAX_RECENT_FILES = 10;

/** Returns a new list with `entry` first, any older entry for the same path removed, capped. */
export function addRecentFile(list: readonly RecentFile[], entry: RecentFile, max = MAX_RECENT_FILES): RecentFile[] {
  const rest = list.filter((existing) => existing.path !== entry.path);
  return [entry, ...rest].slice(0, max);
}

/** Keeps the entries of a parsed JSON value that have the right shape, newest first. */
export function sanitizeRecentFiles(value: unknown, max = MAX_RECENT_FILES): RecentFile[] {
  if (!Array.isArray(value)) return [];
  const entries: RecentFile[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) continue;
    const { path, name, kind, openedAtMs } = item as Record<string, unknown>;
    if (typeof path !== 'string' || path.length === 0 || typeof name !== 'string') continue;
    if (kind !== 'audio' && kind !== 'checkpoint' && kind !== 'project') continue;
    if (typeof openedAtMs !== 'number' || !Number.isFinite(openedAtMs)) continue;
    if (entries.some((entry) => entry.path === path)) continue;
    entries.push({ path, name, kind, openedAtMs });
  }
  entries.sort((a, b) => b.openedAtMs - a.openedAtMs);
  return entries.slice(0, max);
}

/** Recent files persisted as JSON; a missing or corrupt file reads as an empty list. */
export class RecentFilesStore {
  private entries: RecentFile[] = [];

  constructor(private readonly jsonPath: string) {}

  async load(): Promise<RecentFile[]> {
    try {
      this.entries = sanitizeRecentFiles(JSON.parse(await readFile(this.jsonPath, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        console.warn(`[recent-files] ignoring unreadable ${this.jsonPath}:`, error);
      }
      this.entries = [];
    }
    return this.list();
  }

  list(): RecentFile[] {
    return [...this.entries];
  }

  has(path: string): RecentFile | undefined {
    return this.entries.find((entry) => entry.path === path);
  }

  async add(entry: RecentFile): Promise<RecentFile[]> {
    this.entries = addRecentFile(this.entries, entry);
    await this.save();
    return this.list();
  }

  async clear(): Promise<void> {
    this.entries = [];
    await this.save();
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.jsonPath, `${JSON.stringify(this.entries, null, 2)}\n`);
  }
}
