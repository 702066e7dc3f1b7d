// Engine status as the UI shows it: which adapter runs the model, which model is loaded,
// and the last engine-wide error (no adapter, device lost).

import { createStore, type StoreApi } from 'zustand/vanilla';

import type { EngineApi } from '../engine/engine-client';
import { toEngineError } from '../engine/errors';
import type { AdapterSummary, EngineError, ModelSummary } from '../engine/protocol';

export type EngineStatus = 'starting' | 'ready' | 'failed';

/**
 * none: nothing loaded yet; loading: a load is in flight; ready: `model` is usable;
 * missing: the build has no default model and nothing else was loaded; failed: the last
 * load failed and no model is loaded.
 */
export type ModelStatus = 'none' | 'loading' | 'ready' | 'missing' | 'failed';

export interface EngineState {
  status: EngineStatus;
  adapter: AdapterSummary | null;
  model: ModelSummary | null;
  modelStatus: ModelStatus;
  /** Error of the last failed model load, cleared by the next successful load. */
  modelError: EngineError | null;
  /** Whether this build has a default model, or null until loading it was tried. */
  defaultModelAvailable: boolean | null;
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
  return createStore<EngineState>()((set, get) => {
    async function loadModel(load: () => Promise<ModelSummary>, isDefault: boolean): Promise<ModelSummary | null> {
      set({ modelStatus: 'loading' });
      try {
        const model = await load();
        set({ model, modelStatus: 'ready', modelError: null, error: null });
        if (isDefault) set({ defaultModelAvailable: true });
        return model;
      } catch (error) {
        const engineError = toEngineError(error);
        if (isDefault && engineError.code === 'no-model') set({ defaultModelAvailable: false });
        // A failed load leaves the model that was loaded before in place.
        let modelStatus: ModelStatus = 'failed';
        if (get().model) modelStatus = 'ready';
        else if (engineError.code === 'no-model') modelStatus = 'missing';
        set({ modelStatus, modelError: engineError, error: engineError });
        return null;
      }
    }

    return {
      status: 'starting',
      adapter: null,
      model: null,
      modelStatus: 'none',
      modelError: null,
      defaultModelAvailable: null,
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

      loadDefaultModel: () => loadModel(() => getEngine().request('loadDefaultModel', {}), true),
      loadCheckpoint: (bytes, name) => loadModel(() => getEngine().request('loadModel', { checkpoint: bytes, name }), false),

      reportError(error) {
        if (error.code === 'device-lost') set({ status: 'failed', model: null, modelStatus: 'none', error });
        else set({ error });
      },

      reset: () => set({ status: 'starting', adapter: null, model: null, modelStatus: 'none', modelError: null, error: null }),
    };
  });
}
