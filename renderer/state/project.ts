// Project files (.mambaproj): JSON with the training and generation settings and, per
// clip, its name, path (desktop only) and selected region. Audio and weights are not
// embedded: clips stay where they are, and checkpoints are saved separately.

import type { TrainConfig } from '../engine/protocol';
import type { GenerateSettings } from './generate-store';
import type { Region } from './library-store';

export const PROJECT_FORMAT = 'mamba-audio-project';
export const PROJECT_VERSION = 1;

export interface ProjectClip {
  name: string;
  path?: string;
  region: Region | null;
}

export interface ProjectFile {
  format: typeof PROJECT_FORMAT;
  version: typeof PROJECT_VERSION;
  savedAtMs: number;
  clips: ProjectClip[];
  selectedClip: string | null;
  train: TrainConfig;
  generate: GenerateSettings;
}

export function serializeProject(project: ProjectFile): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(project, null, 2)}\n`);
}

export type ProjectParseResult = { ok: true; project: ProjectFile } | { ok: false; message: string };

/**
 * Parses a project file. Settings fields that are missing or of the wrong type fall back
 * to `defaults`, so a project from an older version still opens.
 */
export function parseProject(bytes: Uint8Array, defaults: { train: TrainConfig; generate: GenerateSettings }): ProjectParseResult {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return { ok: false, message: `The project file is not valid UTF-8 JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null) return { ok: false, message: 'The project file does not contain a JSON object.' };
  const record = value as Record<string, unknown>;
  if (record.format !== PROJECT_FORMAT) return { ok: false, message: `The file is not a mamba-audio project (format is ${JSON.stringify(record.format)}).` };
  if (record.version !== PROJECT_VERSION) {
    return { ok: false, message: `Project version ${JSON.stringify(record.version)} is not supported; this app reads version ${PROJECT_VERSION}.` };
  }

  const clips: ProjectClip[] = [];
  for (const item of Array.isArray(record.clips) ? record.clips : []) {
    if (typeof item !== 'object' || item === null) continue;
    const clip = item as Record<string, unknown>;
    if (typeof clip.name !== 'string') continue;
    const parsed: ProjectClip = { name: clip.name, region: parseRegion(clip.region) };
    if (typeof clip.path === 'string') parsed.path = clip.path;
    clips.push(parsed);
  }

  return {
    ok: true,
    project: {
      format: PROJECT_FORMAT,
      version: PROJECT_VERSION,
      savedAtMs: typeof record.savedAtMs === 'number' ? record.savedAtMs : 0,
      clips,
      selectedClip: typeof record.selectedClip === 'string' ? record.selectedClip : null,
      train: mergeNumbers(defaults.train, record.train),
      generate: { ...mergeNumbers(defaults.generate, record.generate), usePrompt: readBoolean(record.generate, 'usePrompt', defaults.generate.usePrompt) },
    },
  };
}

function parseRegion(value: unknown): Region | null {
  if (typeof value !== 'object' || value === null) return null;
  const { startSec, endSec } = value as Record<string, unknown>;
  if (typeof startSec !== 'number' || typeof endSec !== 'number' || !Number.isFinite(startSec) || !Number.isFinite(endSec)) return null;
  return endSec > startSec && startSec >= 0 ? { startSec, endSec } : null;
}

/** Copies `defaults`, replacing each number field by the finite number of the same name in `value`. */
function mergeNumbers<T extends object>(defaults: T, value: unknown): T {
  const merged = { ...defaults } as Record<string, unknown>;
  if (typeof value !== 'object' || value === null) return merged as T;
  for (const [key, fallback] of Object.entries(defaults)) {
    const candidate = (value as Record<string, unknown>)[key];
    if (typeof fallback === 'number' && typeof candidate === 'number' && Number.isFinite(candidate)) merged[key] = candidate;
  }
  return merged as T;
}

function readBoolean(value: unknown, key: string, fallback: boolean): boolean {
  if (typeof value !== 'object' || value === null) return fallback;
  const candidate = (value as Record<string, unknown>)[key];
  return typeof candidate === 'boolean' ? candidate : fallback;
}
