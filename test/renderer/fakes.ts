// In-memory Platform and EngineApi for store tests.

import type { EngineApi } from '../../renderer/engine/engine-client';
import { EngineRequestError, engineError } from '../../renderer/engine/errors';
import type { EngineCommandName, EngineEvent, EngineEventType, EnginePayload, EngineResult } from '../../renderer/engine/protocol';
import { createBrowserPlatform, type StoredRecent } from '../../renderer/platform/browser-platform';
import { MemoryKeyValueStore } from '../../renderer/platform/key-value';
import type { CheckpointMeta, Platform } from '../../renderer/platform/platform';

export interface FakeEngine extends EngineApi {
  requests: Array<{ command: EngineCommandName; payload: unknown }>;
  emit(event: EngineEvent): void;
}

/** Creates an engine that runs `handlers[command]` for each command, or fails with engine-unavailable. */
export function fakeEngine(handlers: Partial<{ [C in EngineCommandName]: (payload: EnginePayload<C>) => EngineResult<C> }> = {}): FakeEngine {
  const listeners = new Map<EngineEventType, Set<(event: EngineEvent) => void>>();
  const requests: FakeEngine['requests'] = [];
  return {
    requests,
    async request<C extends EngineCommandName>(command: C, payload: EnginePayload<C>): Promise<EngineResult<C>> {
      requests.push({ command, payload });
      const handler = handlers[command] as ((payload: EnginePayload<C>) => EngineResult<C>) | undefined;
      if (!handler) throw new EngineRequestError(engineError('engine-unavailable', `Cannot run "${command}".`));
      return handler(payload);
    },
    on(type, listener) {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set);
      set.add(listener as (event: EngineEvent) => void);
      return () => set.delete(listener as (event: EngineEvent) => void);
    },
    emit(event) {
      for (const listener of listeners.get(event.type) ?? []) listener(event);
    },
  };
}

export interface FakePlatformParts {
  platform: Platform;
  downloads: Array<{ name: string; bytes: Uint8Array; mimeType: string }>;
  /** Files the next picker call returns. */
  nextPick: File[];
}

/** Creates the browser platform over memory stores, with a scripted file picker. */
export function fakePlatform(): FakePlatformParts {
  const parts: FakePlatformParts = { platform: undefined as unknown as Platform, downloads: [], nextPick: [] };
  let clock = 1000;
  let id = 0;
  parts.platform = createBrowserPlatform({
    recent: new MemoryKeyValueStore<StoredRecent>(),
    checkpointMetas: new MemoryKeyValueStore<CheckpointMeta>(),
    checkpointBytes: new MemoryKeyValueStore<Uint8Array>(),
    pickFiles: async () => parts.nextPick.splice(0),
    download: (name, bytes, mimeType) => parts.downloads.push({ name, bytes, mimeType }),
    now: () => ++clock,
    randomId: () => `id-${++id}`,
  });
  return parts;
}
