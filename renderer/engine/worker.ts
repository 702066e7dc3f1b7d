// Entry point of the engine Web Worker (a module worker bundled by Vite). It connects the
// protocol host to the worker's message port; see engine-host.ts for the behaviour.

import { DEFAULT_MODEL_LOCATION, fetchDefaultModel } from './default-model';
import { createEngineHost, type EngineBackendFactory } from './engine-host';
import { createMambaBackend } from './mamba-backend';
import type { WorkerToUiMessage } from './protocol';

/** The parts of DedicatedWorkerGlobalScope used here; the project's type lib is DOM. */
interface WorkerScope {
  navigator: { gpu?: GPU };
  postMessage(message: WorkerToUiMessage, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
}

const scope = self as unknown as WorkerScope;

const createBackend: EngineBackendFactory = (context) =>
  createMambaBackend(context, { fetchDefaultModel, defaultModelLocation: DEFAULT_MODEL_LOCATION });

const host = createEngineHost({
  gpu: scope.navigator.gpu,
  post: (message, transfer) => scope.postMessage(message, transfer),
  createBackend,
});

scope.addEventListener('message', (event) => {
  void host.handleMessage(event.data);
});
