// The Waveform component under React StrictMode, in happy-dom, with a fake WaveSurfer:
// StrictMode mounts, unmounts and mounts again, which must leave exactly one live instance.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Window } from 'happy-dom';

// React DOM needs a DOM on globalThis before it is imported.
const happyWindow = new Window({ url: 'http://localhost/' });
for (const key of Object.getOwnPropertyNames(happyWindow)) {
  if (key in globalThis) continue;
  Object.defineProperty(globalThis, key, { configurable: true, writable: true, value: (happyWindow as unknown as Record<string, unknown>)[key] });
}
Object.assign(globalThis, { window: happyWindow, document: happyWindow.document, IS_REACT_ACT_ENVIRONMENT: true });

const { act, createElement, StrictMode } = await import('react');
const { createRoot } = await import('react-dom/client');
const { Waveform } = await import('../../renderer/components/Waveform');
type WaveSurferFactory = import('../../renderer/components/Waveform').WaveSurferFactory;

interface FakeInstance {
  id: number;
  destroyed: boolean;
  loads: number;
}

function fakeFactory(instances: FakeInstance[]): WaveSurferFactory {
  return () => {
    const record: FakeInstance = { id: instances.length, destroyed: false, loads: 0 };
    instances.push(record);
    const fake = {
      on: () => () => {},
      destroy: () => {
        record.destroyed = true;
      },
      load: async () => {
        record.loads++;
      },
      loadBlob: async () => {
        record.loads++;
      },
      zoom: () => {},
      setOptions: () => {},
      registerPlugin: (plugin: unknown) => plugin,
      getCurrentTime: () => 0,
      getDuration: () => 0,
      isPlaying: () => false,
      setScrollTime: () => {},
    };
    return fake as unknown as ReturnType<WaveSurferFactory>;
  };
}

test('StrictMode leaves one live WaveSurfer', async () => {
  const instances: FakeInstance[] = [];
  const container = happyWindow.document.createElement('div');
  happyWindow.document.body.appendChild(container);
  const root = createRoot(container as unknown as HTMLElement);

  const samples = new Float32Array(1600);
  await act(async () => {
    root.render(createElement(StrictMode, null, createElement(Waveform, { samples, sampleRateHz: 16000, createWaveSurfer: fakeFactory(instances) })));
  });

  const live = instances.filter((instance) => !instance.destroyed);
  assert.equal(live.length, 1, `live instances: ${live.length} of ${instances.length} created`);
  assert.ok(live[0]!.loads >= 1, 'the live instance was never loaded');
  assert.equal(container.querySelectorAll('.waveform').length, 1);

  await act(async () => root.unmount());
  assert.equal(instances.filter((instance) => !instance.destroyed).length, 0);
});

test('re-rendering keeps the same instance', async () => {
  const instances: FakeInstance[] = [];
  const container = happyWindow.document.createElement('div');
  const root = createRoot(container as unknown as HTMLElement);
  const factory = fakeFactory(instances);

  for (const length of [800, 1600, 3200]) {
    await act(async () => {
      root.render(createElement(StrictMode, null, createElement(Waveform, { samples: new Float32Array(length), sampleRateHz: 16000, createWaveSurfer: factory })));
    });
  }
  const live = instances.filter((instance) => !instance.destroyed);
  assert.equal(live.length, 1);
  assert.ok(live[0]!.loads >= 3, `expected a load per new sample array, got ${live[0]!.loads}`);

  await act(async () => root.unmount());
  await happyWindow.happyDOM.close();
});
