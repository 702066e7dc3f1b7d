// Thin React binding of the stores: a context that carries the AppServices and one hook
// per store, each taking a selector so components re-render only on what they read.

import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';

import type { EngineState } from './engine-store';
import type { GenerateState } from './generate-store';
import type { InspectState } from './inspect-store';
import type { LabState } from './lab-store';
import type { LibraryState } from './library-store';
import type { AppServices } from './services';
import type { TrainState } from './train-store';
import type { UiState } from './ui-store';

const ServicesContext = createContext<AppServices | null>(null);

export function ServicesProvider({ services, children }: { services: AppServices; children: ReactNode }) {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

export function useServices(): AppServices {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices: no ServicesProvider above this component');
  return services;
}

export const useUi = <T,>(selector: (state: UiState) => T): T => useStore(useServices().ui, selector);
export const useEngine = <T,>(selector: (state: EngineState) => T): T => useStore(useServices().engine, selector);
export const useLibrary = <T,>(selector: (state: LibraryState) => T): T => useStore(useServices().library, selector);
export const useTrain = <T,>(selector: (state: TrainState) => T): T => useStore(useServices().train, selector);
export const useGenerate = <T,>(selector: (state: GenerateState) => T): T => useStore(useServices().generate, selector);
export const useInspect = <T,>(selector: (state: InspectState) => T): T => useStore(useServices().inspect, selector);
export const useLab = <T,>(selector: (state: LabState) => T): T => useStore(useServices().lab, selector);
