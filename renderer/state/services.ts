// Builds the stores, connects them to the engine worker's events and to the platform, and
// contains the actions that span several stores (menu commands, projects, checkpoints).
// Nothing here touches React; renderer/state/react.tsx exposes the result to components.

import type { StoreApi } from 'zustand/vanilla';

import type { MenuCommand } from '../../app/ipc-contract';
import type { EngineClient } from '../engine/engine-client';
import { ENGINE_ERROR_TEXT, toEngineError } from '../engine/errors';
import type { EngineError } from '../engine/protocol';
import type { ClipLoadResult } from '../audio-bridge';
import type { Platform } from '../platform';
import { createEngineStore, type EngineState } from './engine-store';
import { createGenerateStore, DEFAULT_GENERATE_SETTINGS, type ChunkPlayer, type GenerateState } from './generate-store';
import { createInspectStore, type InspectState } from './inspect-store';
import { createLabStore, type LabState } from './lab-store';
import { createLibraryStore, selectedClip, type LibraryState } from './library-store';
import { parseProject, PROJECT_FORMAT, PROJECT_VERSION, serializeProject } from './project';
import { createTrainStore, DEFAULT_TRAIN_CONFIG, type TrainState } from './train-store';
import { createUiStore, type UiState, type ViewId } from './ui-store';

export interface AppServices {
  platform: Platform;
  ui: StoreApi<UiState>;
  engine: StoreApi<EngineState>;
  library: StoreApi<LibraryState>;
  train: StoreApi<TrainState>;
  generate: StoreApi<GenerateState>;
  inspect: StoreApi<InspectState>;
  lab: StoreApi<LabState>;
  /**
   * Replaces the engine worker, e.g. after the device was lost, initializes it and loads
   * the last weights again: the last checkpoint loaded or saved by training, else the
   * default model.
   */
  restartEngine(): Promise<void>;
  runMenuCommand(command: MenuCommand): void;
  openCheckpointFile(): Promise<void>;
  /** Loads the embedded default model in place of the current one. */
  loadDefaultModel(): Promise<void>;
  /** Asks the engine for its current weights and saves them where the user chooses. */
  saveModelCheckpoint(): Promise<void>;
  saveProject(): Promise<void>;
  openProject(): Promise<void>;
  dispose(): void;
}

export interface ServiceOptions {
  platform: Platform;
  startEngine(): EngineClient;
  loadClip(bytes: Uint8Array, fileName: string): Promise<ClipLoadResult>;
  encodeWav(samples: Float32Array, sampleRateHz: number): Uint8Array;
  createPlayer(sampleRateHz: number): ChunkPlayer;
  modelSampleRateHz: number;
}

/** The weights to reload when the engine is restarted. */
type LastWeights = { kind: 'default' } | { kind: 'checkpoint'; name: string; bytes: Uint8Array };

/** Automatic restarts after a lost device within RECOVERY_WINDOW_MS; beyond that the user restarts. */
const MAX_AUTOMATIC_RECOVERIES = 2;
const RECOVERY_WINDOW_MS = 60_000;

const VIEW_COMMANDS: Partial<Record<MenuCommand, ViewId>> = {
  'view-library': 'library',
  'view-train': 'train',
  'view-generate': 'generate',
  'view-inspect': 'inspect',
  'view-lab': 'lab',
};

export function createAppServices(options: ServiceOptions): AppServices {
  const { platform } = options;
  let client = options.startEngine();
  const getEngine = (): EngineClient => client;
  const engineSubscriptions: Array<() => void> = [];
  const platformSubscriptions: Array<() => void> = [];

  const ui = createUiStore();
  const reportProblem = (title: string, message: string, hint: string): void => {
    ui.getState().notify({ level: 'error', title, message, hint });
  };
  const reportEngineError = (error: EngineError): void => {
    ui.getState().notify({ level: 'error', title: ENGINE_ERROR_TEXT[error.code].title, message: error.message, hint: error.hint });
  };

  const engine = createEngineStore(getEngine);
  const library = createLibraryStore({ platform, loadClip: options.loadClip, reportProblem });
  let lastWeights: LastWeights = { kind: 'default' };
  const recoveryTimes: number[] = [];
  /** The notice that the build has no default model, closed once another model loads. */
  let missingDefaultNotice: number | null = null;
  const closeMissingDefaultNotice = (): void => {
    if (missingDefaultNotice !== null) ui.getState().dismiss(missingDefaultNotice);
    missingDefaultNotice = null;
  };

  const loadCheckpointIntoEngine = async (bytes: Uint8Array, name: string): Promise<boolean> => {
    // The request transfers its buffer; the copy kept here is reloaded after a restart.
    const kept = bytes.slice();
    const model = await engine.getState().loadCheckpoint(bytes, name);
    const error = engine.getState().error;
    if (!model && error) reportEngineError(error);
    if (model) {
      lastWeights = { kind: 'checkpoint', name, bytes: kept };
      closeMissingDefaultNotice();
    }
    return model !== null;
  };

  const loadDefaultIntoEngine = async (): Promise<void> => {
    const model = await engine.getState().loadDefaultModel();
    if (model) {
      lastWeights = { kind: 'default' };
      return;
    }
    const error = engine.getState().modelError;
    if (!error) return;
    if (error.code === 'no-model') {
      missingDefaultNotice = ui.getState().notify({ level: 'info', title: 'No default model in this build', message: error.message, hint: error.hint });
    } else {
      reportEngineError(error);
    }
  };

  /** Initializes the engine and loads the last weights into it. */
  const bootEngine = async (): Promise<void> => {
    await engine.getState().initialize();
    if (engine.getState().status !== 'ready') return;
    const weights = lastWeights;
    if (weights.kind === 'checkpoint') await loadCheckpointIntoEngine(weights.bytes, weights.name);
    else await loadDefaultIntoEngine();
  };
  const train = createTrainStore({ getEngine, platform, loadCheckpointIntoEngine, reportProblem, now: () => Date.now() });
  const generate = createGenerateStore({
    getEngine,
    platform,
    sampleRateHz: options.modelSampleRateHz,
    createPlayer: options.createPlayer,
    encodeWav: options.encodeWav,
    reportProblem,
  });
  const inspect = createInspectStore(getEngine);
  const lab = createLabStore(getEngine);

  function connectEngineEvents(target: EngineClient): void {
    engineSubscriptions.push(
      target.on('trainProgress', (event) => train.getState().applyProgress(event)),
      target.on('trainState', (event) => train.getState().applyRunState(event.state, event.error)),
      target.on('checkpoint', (event) => {
        lastWeights = { kind: 'checkpoint', name: `${train.getState().clipName ?? 'model'} step ${event.step}`, bytes: event.bytes };
        void train.getState().storeCheckpoint(event.step, event.loss, event.reason, event.bytes);
      }),
      target.on('generateChunk', (event) => generate.getState().appendChunk(event.samples, event.codes, event.startSample)),
      target.on('generateEnd', (event) => generate.getState().finish(event.reason, event.error)),
      target.on('inspectProgress', (event) => inspect.getState().applyProgress(event.doneSamples, event.totalSamples)),
      target.on('labProgress', (event) => lab.getState().applyProgress(event.runId, event.progress)),
      target.on('labEnd', (event) => lab.getState().applyEnd(event.runId, event.reason, event.result, event.error)),
      target.on('error', (event) => {
        engine.getState().reportError(event.error);
        if (event.error.code === 'device-lost') {
          handleDeviceLoss(event.error);
          return;
        }
        reportEngineError(event.error);
      }),
    );
  }

  /**
   * Marks the work that died with the device as stopped, then opens a new device and
   * reloads the last weights, unless that already happened too often in a short time.
   */
  function handleDeviceLoss(error: EngineError): void {
    // The old worker is replaced, so no request to it would be answered: mark the work here.
    if (['starting', 'running', 'paused', 'stopping'].includes(train.getState().status)) train.getState().applyRunState('stopped');
    if (['starting', 'generating', 'stopping'].includes(generate.getState().status)) {
      generate.getState().stopLivePlayback();
      generate.getState().finish('stopped');
    }
    if (inspect.getState().status === 'running') inspect.setState({ status: 'failed', progress: null, error });
    lab.getState().failRun(error);

    const nowMs = Date.now();
    while (recoveryTimes.length > 0 && nowMs - recoveryTimes[0]! > RECOVERY_WINDOW_MS) recoveryTimes.shift();
    if (recoveryTimes.length >= MAX_AUTOMATIC_RECOVERIES) {
      ui.getState().notify({
        level: 'error',
        title: ENGINE_ERROR_TEXT[error.code].title,
        message: `${error.message} This happened ${recoveryTimes.length + 1} times within ${RECOVERY_WINDOW_MS / 1000} s, so the app does not restart the engine again by itself.`,
        hint: error.hint,
      });
      return;
    }
    recoveryTimes.push(nowMs);
    const what = lastWeights.kind === 'checkpoint' ? lastWeights.name : 'the default model';
    ui.getState().notify({
      level: 'error',
      title: ENGINE_ERROR_TEXT[error.code].title,
      message: error.message,
      hint: `The app is opening a new GPU device and reloading ${what}. Clips and saved checkpoints are kept.`,
    });
    void services.restartEngine().then(() => {
      const model = engine.getState().model;
      if (!model) return;
      ui.getState().notify({
        level: 'info',
        title: 'The engine was restarted',
        message: `A new GPU device is in use and ${model.source === 'default' ? 'the default model' : model.name} is loaded again.`,
        hint: 'Training stopped with the device: start it again to go on from these weights.',
      });
    });
  }

  connectEngineEvents(client);
  void bootEngine();

  platformSubscriptions.push(
    platform.onMenuCommand((command) => services.runMenuCommand(command)),
    platform.onOpenRecentRequested((key) => void library.getState().openRecent(key)),
    platform.onRecentChanged((entries) => library.setState({ recent: entries.filter((entry) => entry.kind === 'audio') })),
  );
  void library.getState().refreshRecent();
  void train.getState().refreshCheckpoints();

  const services: AppServices = {
    platform,
    ui,
    engine,
    library,
    train,
    generate,
    inspect,
    lab,

    async restartEngine() {
      for (const unsubscribe of engineSubscriptions.splice(0)) unsubscribe();
      client.terminate();
      client = options.startEngine();
      connectEngineEvents(client);
      engine.getState().reset();
      await bootEngine();
    },

    async loadDefaultModel() {
      await loadDefaultIntoEngine();
    },

    runMenuCommand(command) {
      const view = VIEW_COMMANDS[command];
      if (view) {
        ui.getState().setView(view);
        return;
      }
      switch (command) {
        case 'open-audio':
          void library.getState().openFromPicker();
          return;
        case 'open-checkpoint':
          void services.openCheckpointFile();
          return;
        case 'open-project':
          void services.openProject();
          return;
        case 'save-project':
          void services.saveProject();
          return;
        case 'save-checkpoint':
          void services.saveModelCheckpoint();
          return;
        case 'export-wav':
          void generate.getState().exportWav();
          return;
        case 'toggle-playback':
          ui.getState().requestPlaybackToggle();
          return;
      }
    },

    async openCheckpointFile() {
      try {
        const [file] = await platform.openFiles('checkpoint', { multiple: false });
        if (file) await loadCheckpointIntoEngine(file.bytes, file.name);
      } catch (error) {
        reportProblem('Could not open the checkpoint', (error as Error).message, 'Pick a readable .safetensors file.');
      }
    },

    async saveModelCheckpoint() {
      try {
        const { bytes, step } = await client.request('exportCheckpoint', {});
        await platform.saveFile('checkpoint', `mamba-audio-step-${step}.safetensors`, bytes);
      } catch (error) {
        reportEngineError(toEngineError(error));
      }
    },

    async saveProject() {
      const { clips, selectedId } = library.getState();
      const bytes = serializeProject({
        format: PROJECT_FORMAT,
        version: PROJECT_VERSION,
        savedAtMs: Date.now(),
        clips: clips.filter((clip) => clip.status !== 'failed').map((clip) => ({ name: clip.fileName, path: clip.path, region: clip.region })),
        selectedClip: clips.find((clip) => clip.id === selectedId)?.fileName ?? null,
        train: train.getState().config,
        generate: generate.getState().settings,
      });
      try {
        await platform.saveFile('project', 'project.mambaproj', bytes);
      } catch (error) {
        reportProblem('Could not save the project', (error as Error).message, 'Choose another folder and try again.');
      }
    },

    async openProject() {
      try {
        const [file] = await platform.openFiles('project', { multiple: false });
        if (!file) return;
        const parsed = parseProject(file.bytes, { train: DEFAULT_TRAIN_CONFIG, generate: DEFAULT_GENERATE_SETTINGS });
        if (!parsed.ok) {
          reportProblem('Could not open the project', parsed.message, 'Pick a .mambaproj file saved by mamba-audio.');
          return;
        }
        const { project } = parsed;
        train.getState().setConfig(project.train);
        generate.getState().setSettings(project.generate);

        // Regions are restored on clips that are already open; the others must be reopened.
        const open = library.getState().clips;
        const missing: string[] = [];
        for (const saved of project.clips) {
          const clip = open.find((candidate) => candidate.fileName === saved.name);
          if (clip) library.getState().setRegion(clip.id, saved.region);
          else missing.push(saved.name);
        }
        if (missing.length > 0) {
          ui.getState().notify({
            level: 'info',
            title: 'Project settings restored',
            message: `Open these clips to use them: ${missing.join(', ')}.`,
            hint: 'Clips are not stored in the project; open them from disk, then open the project again to restore their regions.',
          });
        }
      } catch (error) {
        reportProblem('Could not open the project', (error as Error).message, 'Pick a readable .mambaproj file.');
      }
    },

    dispose() {
      for (const unsubscribe of [...engineSubscriptions.splice(0), ...platformSubscriptions.splice(0)]) unsubscribe();
      client.terminate();
    },
  };

  return services;
}

export { selectedClip };
