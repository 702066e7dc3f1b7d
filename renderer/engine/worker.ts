// Entry point of the engine Web Worker (a module worker bundled by Vite). It connects the
// protocol host to the worker's message port; see engine-host.ts for the behaviour.

import { createEngineHost, type EngineBackendFactory } from './engine-host';
import type { WorkerToUiMessage } from './protocol';

/** The parts of DedicatedWorkerGlobalScope used here; the project's type lib is DOM. */
interface WorkerScope {
  navigator: { gpu?: GPU };
  postMessage(message: WorkerToUiMessage, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
}

const scope = self as unknown as WorkerScope;

// TODO: wire the engine from gpu/ here: a factory that builds the Mamba model on
// `context.device` and implements EngineBackend (engine-host.ts). Until then every model
// command fails with the 'engine-unavailable' error.
const createBackend: EngineBackendFactory | undefined = undefined;

const host = createEngineHost({
  gpu: scope.navigator.gpu,
  post: (message, transfer) => scope.postMessage(message, transfer),
  createBackend,
});

scope.addEventListener('message', (event) => {
  void host.handleMessage(event.data);
});
