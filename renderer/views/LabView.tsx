// Lab: trains a small Mamba model from scratch on a synthetic token task (Selective
// Copying or Induction Heads), selective (S6) or not (S4), scores it on fresh sequences and
// shows where delta opens on an example, with the last S6 and S4 results side by side.
// The run uses a model of its own in the engine worker; the loaded audio model is kept.

import type { LabLayer, LabPhase } from '../../gpu/lab/lab';
import { ErrorPanel } from '../components/ErrorPanel';
import { LAYER_KIND_LABELS, LabResultPanel } from '../components/LabResultPanel';
import { LossChart, type LossChartLegend } from '../components/LossChart';
import { NumberField } from '../components/NumberField';
import { MAX_LAB_SEQUENCE_LENGTH, MAX_LAB_STEPS } from '../engine/limits';
import { formatCount, formatLoss } from '../lib/format';
import { checkLabSettings, isLabActive, labOptionsFor, labSequenceLength, MAX_LAB_VOCAB, optionDifferences, type LabPresetName, type LabRunProgress, type LabSettings, type LabStatus, type LabTaskName } from '../state/lab-store';
import type { LabRunResult } from '../engine/protocol';
import { useEngine, useLab, useServices } from '../state/react';

const TASK_LABELS: Record<LabTaskName, string> = {
  'selective-copying': 'Selective copying',
  'induction-heads': 'Induction heads',
};

const PRESET_TEXT: Record<LabPresetName, { label: string; help: string }> = {
  quick: { label: 'Quick', help: 'A small model and short training that finish in well under a minute, even on a software adapter' },
  standard: { label: 'Standard', help: 'The sizes of `mamba-audio lab`: several minutes on a software adapter' },
};

const LAYER_HELP: Record<LabLayer, string> = {
  s6: 'Delta, B and C are computed from each token, so the model can choose what to keep',
  s4: 'The ablation: delta, B and C are learned constants, the same at every position (linear time-invariant)',
};

const PHASE_TEXT: Record<LabPhase, string> = {
  training: 'Training',
  evaluating: 'Evaluating',
  inspecting: 'Tracing delta',
};

const STATUS_TEXT: Record<LabStatus, string> = {
  idle: 'Not started',
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping training…',
  cancelling: 'Cancelling…',
  finished: 'Finished',
  cancelled: 'Cancelled',
  failed: 'Failed',
};

const LAB_LOSS_LEGEND: LossChartLegend = {
  train: 'training loss',
  validation: null,
  unit: 'nats / answer token',
  empty: 'The loss curve appears here once a lab run trains.',
};

export function LabView() {
  const { lab } = useServices();
  const settings = useLab((state) => state.settings);
  const status = useLab((state) => state.status);
  const run = useLab((state) => state.run);
  const results = useLab((state) => state.results);
  const mapLayer = useLab((state) => state.mapLayer);
  const error = useLab((state) => state.error);
  const engineStatus = useEngine((state) => state.status);
  const active = isLabActive(status);
  const problem = checkLabSettings(settings);
  let runBlocker: string | null = problem;
  if (engineStatus === 'starting') runBlocker = 'The engine is starting; wait for the WebGPU adapter to appear in the status bar.';
  else if (engineStatus === 'failed') runBlocker = 'The engine failed to start; see the banner above.';

  return (
    <div className="view lab-view" data-testid="view-lab">
      <header className="view-header">
        <div>
          <h1>Lab</h1>
          <p className="muted">Train a small Mamba model on a synthetic token task and see where its step size delta opens. The loaded audio model is kept.</p>
        </div>
        <div className="toolbar">
          <button
            className="button button-primary"
            data-testid="lab-run"
            disabled={active || runBlocker !== null}
            title={runBlocker ?? `Train ${LAYER_KIND_LABELS[settings.layer]} on ${TASK_LABELS[settings.task].toLowerCase()}`}
            onClick={() => void lab.getState().start()}
          >
            {active ? 'Running…' : 'Run'}
          </button>
          <button
            className="button"
            data-testid="lab-stop"
            disabled={!(status === 'running' && run?.phase === 'training')}
            title="End training now and evaluate the model reached so far"
            onClick={() => void lab.getState().stop()}
          >
            Stop training
          </button>
          <button className="button button-danger" data-testid="lab-cancel" disabled={!active || status === 'cancelling'} title="End the run without a result" onClick={() => void lab.getState().cancel()}>
            Cancel
          </button>
        </div>
      </header>

      {error && <ErrorPanel error={error} onDismiss={() => lab.getState().clearError()} />}

      <div className="lab-body">
        <LabForm settings={settings} disabled={active} problem={problem} />

        <section className="lab-main" aria-label="Current run">
          <p className="lab-status-line" role="status" aria-live="polite" data-testid="lab-status-line">
            {statusSentence(status, run, results)}
          </p>
          <div className="stats">
            <Stat label="Status" value={status === 'running' && run?.phase ? PHASE_TEXT[run.phase] : STATUS_TEXT[status]} testId="lab-status" />
            <Stat label="Step" value={run?.latest ? `${formatCount(run.latest.step)} / ${formatCount(run.options.steps)}` : '–'} testId="lab-step" />
            <Stat label="Loss" value={formatLoss(run?.latest?.loss)} testId="lab-loss" />
            <Stat label="Check accuracy" value={run && run.checks.length > 0 ? percent(run.checks.at(-1)!.accuracy) : '–'} testId="lab-check-accuracy" />
            <Stat label="Tokens / s" value={run?.latest ? formatCount(run.latest.tokensPerSec) : '–'} testId="lab-rate" />
          </div>
          {status === 'running' && run && run.history.length === 0 && run.phase === 'training' && (
            <p className="pending-note" data-testid="lab-pending">
              Preparing the first step. The first lab run also compiles its GPU kernels, which can take a minute or more on a software adapter.
            </p>
          )}
          <div className="progress" role="progressbar" aria-label="Lab training progress" aria-valuemin={0} aria-valuemax={run?.options.steps ?? 1} aria-valuenow={run?.latest?.step ?? 0}>
            <div className="progress-fill" style={{ width: `${run?.latest ? Math.min(100, (run.latest.step / run.options.steps) * 100) : 0}%` }} />
          </div>
          <div className="panel chart-panel lab-chart-panel">
            <LossChart history={run?.history ?? []} legend={LAB_LOSS_LEGEND} testId="lab-loss-chart" />
          </div>
          <RunAccuracy run={run} />
        </section>
      </div>

      <Comparison results={results} mapLayer={mapLayer} />
    </div>
  );
}

function LabForm({ settings, disabled, problem }: { settings: LabSettings; disabled: boolean; problem: string | null }) {
  const { lab } = useServices();
  const set = lab.getState().setSettings;
  const copying = settings.task === 'selective-copying';
  const options = labOptionsFor(settings);

  return (
    <aside className="panel form-panel" aria-label="Lab settings">
      <h2 className="panel-title">Settings</h2>
      <div className="field">
        <span className="field-label" id="lab-preset-label">
          Preset
        </span>
        <div className="segmented" role="radiogroup" aria-labelledby="lab-preset-label">
          {(Object.keys(PRESET_TEXT) as LabPresetName[]).map((preset) => (
            <button
              key={preset}
              role="radio"
              aria-checked={preset === settings.preset}
              className={preset === settings.preset ? 'active' : ''}
              title={PRESET_TEXT[preset].help}
              disabled={disabled}
              data-testid={`lab-preset-${preset}`}
              onClick={() => lab.getState().applyPreset(preset)}
            >
              {PRESET_TEXT[preset].label}
            </button>
          ))}
        </div>
      </div>
      <label className="field">
        <span className="field-label">Task</span>
        <select value={settings.task} disabled={disabled} data-testid="lab-task" onChange={(event) => lab.getState().setTask(event.target.value as LabTaskName)}>
          {(Object.keys(TASK_LABELS) as LabTaskName[]).map((task) => (
            <option key={task} value={task}>
              {TASK_LABELS[task]}
            </option>
          ))}
        </select>
      </label>
      <div className="field">
        <span className="field-label" id="lab-layer-label">
          Blocks
        </span>
        <div className="segmented" role="radiogroup" aria-labelledby="lab-layer-label">
          {(Object.keys(LAYER_KIND_LABELS) as LabLayer[]).map((layer) => (
            <button
              key={layer}
              role="radio"
              aria-checked={layer === settings.layer}
              className={layer === settings.layer ? 'active' : ''}
              title={LAYER_HELP[layer]}
              disabled={disabled}
              data-testid={`lab-layer-${layer}`}
              onClick={() => set({ layer })}
            >
              {LAYER_KIND_LABELS[layer]}
            </button>
          ))}
        </div>
      </div>
      <NumberField
        label="Sequence length"
        value={settings.length}
        min={copying ? 1 : 3}
        max={MAX_LAB_SEQUENCE_LENGTH}
        integer
        unit="tokens"
        help={copying ? 'Context positions before the markers; the model input adds one marker per token to memorize' : 'Tokens per training sequence, the final trigger included'}
        disabled={disabled}
        onChange={(value) => set({ length: value })}
        testId="lab-length"
      />
      <NumberField label="Vocabulary" value={settings.vocab} min={2} max={MAX_LAB_VOCAB} integer unit="tokens" help="Distinct data tokens, not counting noise, marker or trigger" disabled={disabled} onChange={(value) => set({ vocab: value })} testId="lab-vocab" />
      <NumberField
        label="Tokens to memorize"
        value={settings.memorize}
        min={1}
        max={Math.max(1, settings.length)}
        integer
        help={copying ? 'Data tokens placed at random among the noise, to be output in order at the markers' : 'Applies to selective copying only'}
        disabled={disabled || !copying}
        onChange={(value) => set({ memorize: value })}
        testId="lab-memorize"
      />
      <NumberField label="Steps" value={settings.steps} min={1} max={MAX_LAB_STEPS} integer help="Optimizer steps, each on a fresh batch" disabled={disabled} onChange={(value) => set({ steps: value })} testId="lab-steps" />
      <NumberField
        label="Seed"
        value={settings.seed}
        min={0}
        max={0xffffffff}
        integer
        help="Fixes the initial weights and every sequence; S6 and S4 runs with the same seed see the same sequences"
        disabled={disabled}
        onChange={(value) => set({ seed: value })}
        testId="lab-seed"
      />
      <p className="muted small" data-testid="lab-sizes">
        Model input {labSequenceLength(settings)} tokens. {options.nLayers} layers, D {options.dModel}, N {options.dState}, expansion {options.expand}; batches of {options.batchSize}; scored on{' '}
        {options.evalSequences} fresh sequences at {options.evalLengthFactors.map((factor) => `${factor}×`).join(', ')} the length.
      </p>
      {problem && (
        <p className="text-error small" role="alert" data-testid="lab-settings-problem">
          {problem}
        </p>
      )}
    </aside>
  );
}

function RunAccuracy({ run }: { run: LabRunProgress | null }) {
  if (!run || (run.checks.length === 0 && run.evaluations.length === 0)) return null;
  return (
    <div className="panel lab-accuracy" data-testid="lab-run-accuracy">
      <h2 className="panel-title">Accuracy of this run</h2>
      {run.checks.length > 0 && (
        <p className="small">
          <span className="muted">Checks on {run.checks[0]!.sequences} fixed sequences: </span>
          {run.checks.map((check) => (
            <span key={check.step} className="lab-check" data-testid="lab-check">
              step {check.step}: {percent(check.accuracy)}
            </span>
          ))}
        </p>
      )}
      {run.evaluations.length > 0 && (
        <p className="small">
          <span className="muted">Fresh sequences: </span>
          {run.evaluations.map((entry) => (
            <span key={entry.factor} className="lab-check" data-testid="lab-eval">
              {entry.length} tokens: {percent(entry.accuracy)}
            </span>
          ))}
        </p>
      )}
    </div>
  );
}

function Comparison({ results, mapLayer }: { results: Record<LabLayer, LabRunResult | null>; mapLayer: number }) {
  const { lab } = useServices();
  const layerCount = Math.max(results.s6?.config.nLayers ?? 0, results.s4?.config.nLayers ?? 0);
  const differences = results.s6 && results.s4 ? optionDifferences(results.s6.options, results.s4.options) : [];

  return (
    <section className="lab-comparison" aria-label="Results, selective against non-selective" data-testid="lab-comparison">
      <div className="lab-comparison-header">
        <h2 className="panel-title">Last results: selective against non-selective</h2>
        <label className="inline-field">
          Full map of layer
          <select value={mapLayer} disabled={layerCount === 0} data-testid="lab-map-layer" onChange={(event) => lab.getState().setMapLayer(Number(event.target.value))}>
            {layerCount === 0 ? (
              <option value={0}>–</option>
            ) : (
              Array.from({ length: layerCount }, (_, layer) => (
                <option key={layer} value={layer}>
                  {layer}
                </option>
              ))
            )}
          </select>
        </label>
      </div>
      {differences.length > 0 && (
        <p className="small lab-differences" data-testid="lab-differences">
          These two runs differ in {differences.join(', ')}. Run both kinds with the same settings and seed to compare them on the same sequences.
        </p>
      )}
      <div className="lab-results">
        <LabResultPanel layer="s6" result={results.s6} mapLayer={mapLayer} />
        <LabResultPanel layer="s4" result={results.s4} mapLayer={mapLayer} />
      </div>
    </section>
  );
}

/** Builds the one-line summary of the run for the status line, which screen readers read out. */
function statusSentence(status: LabStatus, run: LabRunProgress | null, results: Record<LabLayer, LabRunResult | null>): string {
  if (!run) return 'Choose a task and the kind of blocks, then press Run.';
  const kind = LAYER_KIND_LABELS[run.options.layer];
  const task = TASK_LABELS[run.options.task.task].toLowerCase();
  switch (status) {
    case 'starting':
      return `Starting ${kind} on ${task}…`;
    case 'running':
    case 'stopping':
      if (run.phase === 'evaluating') return `Evaluating ${kind} on ${formatCount(run.options.evalSequences)} fresh sequences per length…`;
      if (run.phase === 'inspecting') return `Tracing delta of ${kind} on fresh sequences…`;
      if (!run.latest) return `Training ${kind} on ${task}: preparing the first step…`;
      return `Training ${kind} on ${task}: step ${formatCount(run.latest.step)} of ${formatCount(run.options.steps)}, loss ${formatLoss(run.latest.loss)} nats per answer.`;
    case 'cancelling':
      return `Cancelling the ${kind} run…`;
    case 'cancelled':
      return `The ${kind} run was cancelled; no result was kept.`;
    case 'failed':
      return `The ${kind} run failed; see the message above.`;
    case 'finished': {
      const result = results[run.options.layer];
      if (!result) return `${kind} finished.`;
      const atTrainingLength = result.evaluations.find((entry) => entry.factor === 1) ?? result.evaluations[0];
      return `${kind} finished: ${percent(result.accuracy)} of answers right on fresh sequences of ${atTrainingLength?.length ?? '–'} tokens, after ${result.stepsRun} steps in ${result.trainSec.toFixed(1)} s.`;
    }
    case 'idle':
      return 'Choose a task and the kind of blocks, then press Run.';
  }
}

function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '–';
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
