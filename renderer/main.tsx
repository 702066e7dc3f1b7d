// Renderer entry: picks the platform, starts the engine worker, builds the stores and
// mounts the React tree.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './App';
import { DEFAULT_MODEL_RATE_HZ, encodeMonoWav, loadClip } from './audio-bridge';
import { GaplessPlayer } from './audio/gapless-player';
import { startEngineWorker } from './engine/engine-client';
import { detectPlatform } from './platform';
import { ServicesProvider } from './state/react';
import { createAppServices } from './state/services';
import './styles.css';

const services = createAppServices({
  platform: detectPlatform(),
  startEngine: startEngineWorker,
  loadClip,
  encodeWav: encodeMonoWav,
  createPlayer: (sampleRateHz) => new GaplessPlayer(sampleRateHz),
  modelSampleRateHz: DEFAULT_MODEL_RATE_HZ,
});

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('renderer: index.html has no #root element');

createRoot(rootElement).render(
  <StrictMode>
    <ServicesProvider services={services}>
      <App />
    </ServicesProvider>
  </StrictMode>,
);
