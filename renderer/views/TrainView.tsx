// Train: fine-tune the model on the selected clip (or its region), watch the loss curves,
// and manage the checkpoints that training saves.

import { ErrorPanel } from '../components/ErrorPanel';
import { LossChart } from '../components/LossChart';
import { ModelCard } from '../components/ModelCard';
import { NumberField } from '../components/NumberField';
import { formatCount, formatDuration, formatEta, formatLoss } from '../lib/format';
import { selectedClip } from '../state/library-store';
import { useEngine, useLibrary, useServices, useTrain } from '../state/react';
import type { TrainStatus } from '../state/train-store';

const STATUS_TEXT: Record<TrainStatus, string> = {
  idle: 'Not started',
  starting: 'Starting…',
  running: 'Training',
  paused: 'Paused',
  stopping: 'Stopping…',
  stopped: 'Stopped',
  finished: 'Finished',
  failed: 'Failed',
};

export function TrainView() {
  const { train } = useServices();
  const clip = useLibrary(selectedClip);
  const config = useTrain((state) => state.config);
  const status = useTrain((state) => state.status);
  const latest = useTrain((state) => state.latest);
  const history = useTrain((state) => state.history);
  const error = useTrain((state) => state.error);
  const hasModel = useEngine((state) => state.model !== null);
  const active = status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping';
  const set = train.getState().setConfig;
  const latestValidation = [...history].reverse().find((point) => point.valLoss !== undefined)?.valLoss;

  return (
    <div className="view train-view" data-testid="view-train">
      <header className="view-header">
        <div>
          <h1>Train</h1>
          <p className="muted" data-testid="train-source">
            {clip?.model
              ? `Fine-tuning on ${clip.fileName}${clip.region ? `, region ${formatDuration(clip.region.startSec)} – ${formatDuration(clip.region.endSec)}` : ', whole clip'}`
              : 'Select a clip in the Library to train on.'}
          </p>
        </div>
        <div className="toolbar">
          {!active && (
            <button
              className="button button-primary"
              data-testid="train-start"
              disabled={!clip?.model || !hasModel}
              title={hasModel ? undefined : 'Load a model first'}
              onClick={() => void train.getState().start(clip)}
            >
              Start training
            </button>
          )}
          {status === 'running' && (
            <button className="button" data-testid="train-pause" onClick={() => void train.getState().pause()}>
              Pause
            </button>
          )}
          {status === 'paused' && (
            <button className="button" data-testid="train-resume" onClick={() => void train.getState().resume()}>
              Resume
            </button>
          )}
          {active && (
            <button className="button button-danger" data-testid="train-stop" disabled={status === 'stopping'} onClick={() => void train.getState().stop()}>
              Stop
            </button>
          )}
        </div>
      </header>

      {error && <ErrorPanel error={error} onDismiss={() => train.getState().clearError()} />}

      <div className="train-body">
        <aside className="panel form-panel" aria-label="Training settings">
          <h2 className="panel-title">Settings</h2>
          <NumberField label="Learning rate" value={config.learningRate} min={1e-7} max={1} onChange={(value) => set({ learningRate: value })} disabled={active} testId="train-lr" />
          <NumberField label="Batch size" value={config.batchSize} min={1} max={256} integer onChange={(value) => set({ batchSize: value })} disabled={active} help="Windows per optimizer step (B)" testId="train-batch" />
          <NumberField label="Window" value={config.windowSamples} min={64} max={262144} integer unit="samples" onChange={(value) => set({ windowSamples: value })} disabled={active} help="Length of one training window (L)" testId="train-window" />
          <NumberField label="Steps" value={config.maxSteps} min={1} max={10_000_000} integer onChange={(value) => set({ maxSteps: value })} disabled={active} testId="train-steps" />
          <NumberField label="Validation fraction" value={config.validationFraction} min={0} max={0.5} step={0.05} onChange={(value) => set({ validationFraction: value })} disabled={active} help="Share of the span, taken from its end, held out for the validation loss" testId="train-validation-fraction" />
          <NumberField label="Weight decay" value={config.weightDecay} min={0} max={1} onChange={(value) => set({ weightDecay: value })} disabled={active} testId="train-weight-decay" />
          <NumberField label="Gradient clip" value={config.gradClipNorm} min={0} max={1000} onChange={(value) => set({ gradClipNorm: value })} disabled={active} help="Global gradient-norm limit; 0 turns clipping off" testId="train-grad-clip" />
          <NumberField label="Validate every" value={config.validateEverySteps} min={1} max={1_000_000} integer unit="steps" onChange={(value) => set({ validateEverySteps: value })} disabled={active} testId="train-validate-every" />
          <NumberField label="Checkpoint every" value={config.checkpointEverySteps} min={0} max={1_000_000} integer unit="steps" onChange={(value) => set({ checkpointEverySteps: value })} disabled={active} help="0 saves one checkpoint at the end only" testId="train-checkpoint-every" />
          <NumberField label="Seed" value={config.seed} min={0} max={2 ** 31 - 1} integer onChange={(value) => set({ seed: value })} disabled={active} testId="train-seed" />
        </aside>

        <section className="train-main">
          <ModelCard busy={active} />
          <div className="stats" data-testid="train-stats">
            <Stat label="Status" value={STATUS_TEXT[status]} testId="train-status" />
            <Stat label="Step" value={latest ? `${formatCount(latest.step)} / ${formatCount(config.maxSteps)}` : '–'} testId="train-step" />
            <Stat label="Loss" value={formatLoss(latest?.loss)} testId="train-loss" />
            <Stat label="Validation loss" value={formatLoss(latestValidation)} testId="train-val-loss" />
            <Stat label="Samples / s" value={latest && latest.samplesPerSec > 0 ? formatCount(latest.samplesPerSec) : '–'} testId="train-rate" />
            <Stat label="Time left" value={latest && status === 'running' ? formatEta(latest.etaSec) : '–'} testId="train-eta" />
          </div>
          {(status === 'starting' || status === 'running') && history.length === 0 && (
            <p className="pending-note" data-testid="train-pending">
              Preparing the first step. The first run with a model also compiles its GPU kernels, which can take a minute or more on a software adapter.
            </p>
          )}
          <div className="progress" aria-label="Training progress" data-testid="train-progress">
            <div className="progress-fill" style={{ width: `${latest ? Math.min(100, (latest.step / config.maxSteps) * 100) : 0}%` }} />
          </div>
          <div className="panel chart-panel">
            <LossChart history={history} testId="loss-chart" />
          </div>
          <CheckpointList />
        </section>
      </div>
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

function CheckpointList() {
  const { train } = useServices();
  const checkpoints = useTrain((state) => state.checkpoints);
  return (
    <div className="panel checkpoint-panel" data-testid="checkpoints">
      <h2 className="panel-title">Checkpoints</h2>
      {checkpoints.length === 0 ? (
        <p className="muted small">Checkpoints saved during training are listed here.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Step</th>
              <th>Loss</th>
              <th>Saved</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((checkpoint) => (
              <tr key={checkpoint.id} data-testid="checkpoint-row">
                <td>{checkpoint.label}</td>
                <td>{formatCount(checkpoint.step)}</td>
                <td>{formatLoss(checkpoint.loss)}</td>
                <td>{new Date(checkpoint.createdAtMs).toLocaleString()}</td>
                <td className="row-actions">
                  <button className="link-button" onClick={() => void train.getState().loadCheckpoint(checkpoint.id)}>
                    load
                  </button>
                  <button className="link-button" onClick={() => void train.getState().exportCheckpoint(checkpoint.id)}>
                    export
                  </button>
                  <button className="link-button text-error" onClick={() => void train.getState().deleteCheckpoint(checkpoint.id)}>
                    delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
