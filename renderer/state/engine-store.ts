// Engine status as the UI shows it: which adapter runs the model, which model is loaded,
// and the last engine-wide error (no adapter, device lost).

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { toEngineError } from '../engine/errors';
import type { AdapterSummary, EngineError, ModelSummary } from '../engine/protocol';

export type EngineStatus = 'starting' | 'ready' | 'failed';

export interface EngineState {
  status: EngineStatus;
  adapter: AdapterSummary | null;
  model: ModelSummary | null;
  error: EngineError | null;
  /** Sends `init` and records the adapter or the error. */
  initialize(): Promise<void>;
  loadDefaultModel(): Promise<ModelSummary | null>;
  loadCheckpoint(bytes: Uint8Array, name: string): Promise<ModelSummary | null>;
  /** Records an error that arrived as an event (device lost, out of memory). */
  reportError(error: EngineError): void;
  /** Forgets the adapter and model before the worker is replaced. */
  reset(): void;
}

export function createEngineStore(getEngine: () => EngineApi): StoreApi<EngineState> {
  return createStore<EngineState>()((set) => {
    async function loadModel(load: () => Promise<ModelSummary>): Promise<ModelSummary | null> {
      try {
        const model = await load();
        set({ model, error: null });
        return model;
      } catch (error) {
        set({ error: toEngineError(error) });
        return null;
      }
    }

    return {
      status: 'starting',
      adapter: null,
      model: null,
      error: null,

      async initialize() {
        set({ status: 'starting', error: null });
        try {
          const adapter = await getEngine().request('init', {});
          set({ status: 'ready', adapter });
        } catch (error) {
          set({ status: 'failed', adapter: null, error: toEngineError(error) });
        }
      },

      loadDefaultModel: () => loadModel(() => getEngine().request('loadDefaultModel', {})),
      loadCheckpoint: (bytes, name) => loadModel(() => getEngine().request('loadModel', { checkpoint: bytes, name })),

      reportError(error) {
        if (error.code === 'device-lost') set({ status: 'failed', model: null, error });
        else set({ error });
      },

      reset: () => set({ status: 'starting', adapter: null, model: null, error: null }),
    };
  });
}
