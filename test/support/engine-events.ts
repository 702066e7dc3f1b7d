// Waiting on the events an engine backend emits, and catching the errors its requests
// reject with, for the backend tests that run on a real device.
import assert from 'node:assert/strict';

import type { EngineError, EngineEvent, EngineEventOf, EngineEventType } from '../../renderer/engine/protocol';

/**
 * Returns a function that resolves with the first event of `type` after index `from` of
 * `events` that passes `accept`, and fails the test after `timeoutMs` (default `defaultTimeoutMs`).
 */
export function eventWaiter(events: readonly EngineEvent[], defaultTimeoutMs: number) {
  return async function nextEvent<T extends EngineEventType>(type: T, from: number, accept: (event: EngineEventOf<T>) => boolean = () => true, timeoutMs = defaultTimeoutMs): Promise<EngineEventOf<T>> {
    const started = Date.now();
    for (;;) {
      const found = events.slice(from).find((event): event is EngineEventOf<T> => event.type === type && accept(event as EngineEventOf<T>));
      if (found) return found;
      if (Date.now() - started > timeoutMs) assert.fail(`no ${type} event within ${timeoutMs} ms; events: ${events.slice(from).map((event) => event.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
}

/** Returns the error a request rejects with, and fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    return error as EngineError;
  }
  return assert.fail('the request did not fail');
}
