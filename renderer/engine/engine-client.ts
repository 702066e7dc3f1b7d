// UI-side end of the engine protocol: sends requests to the worker, matches responses to
// them by id, and fans events out to listeners.

import { engineError, EngineRequestError } from './errors';
import {
  collectTransferables,
  type EngineCommandName,
  type EngineEvent,
  type EngineEventOf,
  type EngineEventType,
  type EnginePayload,
  type EngineRequest,
  type EngineResult,
  type WorkerToUiMessage,
} from './protocol';

/** The parts of Worker the client uses, so tests can pass a fake. */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

/** The client as stores see it; stores depend on this interface, not on the class. */
export interface EngineApi {
  request<C extends EngineCommandName>(command: C, payload: EnginePayload<C>): Promise<EngineResult<C>>;
  on<T extends EngineEventType>(type: T, listener: (event: EngineEventOf<T>) => void): () => void;
}

interface Pending {
  command: EngineCommandName;
  resolve(result: unknown): void;
  reject(error: EngineRequestError): void;
}

export class EngineClient implements EngineApi {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<EngineEventType, Set<(event: EngineEvent) => void>>();
  private terminated = false;

  constructor(private readonly worker: WorkerLike) {
    worker.addEventListener('message', (event: MessageEvent) => this.receive(event.data as WorkerToUiMessage));
    worker.addEventListener('error', (event: Event) => {
      const message = (event as Partial<ErrorEvent>).message;
      const detail = message ? message : 'the worker script failed to load or threw';
      this.failAll(engineError('internal', `The engine worker stopped: ${detail}.`));
    });
    worker.addEventListener('messageerror', () => {
      this.emit({ kind: 'event', type: 'error', error: engineError('internal', 'A message from the engine worker could not be deserialized.') });
    });
  }

  /**
   * Sends a command and resolves with its result, or rejects with EngineRequestError.
   * Typed arrays in `payload` are transferred: the caller must not use them afterwards.
   */
  request<C extends EngineCommandName>(command: C, payload: EnginePayload<C>): Promise<EngineResult<C>> {
    if (this.terminated) {
      return Promise.reject(new EngineRequestError(engineError('internal', `Cannot send "${command}": the engine worker was terminated.`)));
    }
    const id = this.nextId++;
    const message = { kind: 'request', id, command, payload } as EngineRequest;
    return new Promise<EngineResult<C>>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (result: unknown) => void, reject });
      try {
        this.worker.postMessage(message, collectTransferables(payload));
      } catch (error) {
        this.pending.delete(id);
        reject(new EngineRequestError(engineError('invalid-request', `Cannot send "${command}": ${(error as Error).message}`)));
      }
    });
  }

  on<T extends EngineEventType>(type: T, listener: (event: EngineEventOf<T>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const wrapped = listener as (event: EngineEvent) => void;
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  }

  /** Number of requests still waiting for a response. */
  get pendingCount(): number {
    return this.pending.size;
  }

  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.worker.terminate();
    this.failAll(engineError('internal', 'The engine worker was terminated.'));
  }

  private receive(message: WorkerToUiMessage): void {
    if (message.kind === 'event') {
      this.emit(message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) {
      console.warn(`[engine-client] response for unknown request id ${message.id} (${message.command})`);
      return;
    }
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new EngineRequestError(message.error));
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners.get(event.type) ?? []) {
      try {
        listener(event);
      } catch (error) {
        console.error(`[engine-client] a listener for "${event.type}" threw:`, error);
      }
    }
  }

  private failAll(error: ReturnType<typeof engineError>): void {
    for (const pending of this.pending.values()) pending.reject(new EngineRequestError(error));
    this.pending.clear();
    this.emit({ kind: 'event', type: 'error', error });
  }
}

/** Starts the engine worker of the production build. */
export function startEngineWorker(): EngineClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'mamba-engine' });
  return new EngineClient(worker as unknown as WorkerLike);
}
