// One finished lab run in the Lab view's comparison: accuracy per evaluated length, the
// mean delta per token role and around the tokens to remember, and the traced example.

import type { LabLayer } from '../../gpu/lab/lab';
import { ROLE_NAMES, TASK_ROLES, TokenRole } from '../../gpu/lab/tasks';
import type { LabRunResult } from '../engine/protocol';
import { formatCount } from '../lib/format';
import { TokenDeltaMap } from './TokenDeltaMap';

export const LAYER_KIND_LABELS: Record<LabLayer, string> = {
  s6: 'Selective (S6)',
  s4: 'Non-selective (S4)',
};

function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '–';
}

function deltaText(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(4);
}

export function LabResultPanel({ layer, result, mapLayer }: { layer: LabLayer; result: LabRunResult | null; mapLayer: number }) {
  const testId = `lab-result-${layer}`;
  if (!result) {
    return (
      <section className="panel lab-result" aria-label={LAYER_KIND_LABELS[layer]} data-testid={testId} data-state="empty">
        <h2 className="panel-title">{LAYER_KIND_LABELS[layer]}</h2>
        <p className="muted small">
          No result yet. Choose “{LAYER_KIND_LABELS[layer]}” in the settings and run; the last finished run of each kind stays here for comparison.
        </p>
      </section>
    );
  }

  const { options, config } = result;
  const roles = TASK_ROLES[options.task.task];
  const anchorName = options.task.task === 'selective-copying' ? 'token to remember' : 'key';
  const [firstProfile] = result.deltaProfile;

  return (
    <section className="panel lab-result" aria-label={LAYER_KIND_LABELS[layer]} data-testid={testId} data-state="done">
      <h2 className="panel-title">
        {LAYER_KIND_LABELS[layer]}
        <span className="lab-result-accuracy" data-testid={`${testId}-accuracy`}>
          {percent(result.accuracy)}
        </span>
      </h2>
      <p className="muted small">
        {describeTask(result)} · {config.nLayers} layers, D {config.dModel}, N {config.dState}, {formatCount(result.parameterCount)} parameters · {result.stepsRun} steps in{' '}
        {result.trainSec.toFixed(1)} s{result.endedEarly ? ' (ended early)' : ''}, last loss {Number.isFinite(result.finalLoss) ? result.finalLoss.toFixed(4) : '–'} nats per answer · seed {options.seed}
        {result.skippedSteps > 0 ? ` · ${result.skippedSteps} non-finite steps skipped` : ''}
      </p>

      <table className="table lab-table" aria-label="Accuracy on fresh sequences">
        <thead>
          <tr>
            <th>Length</th>
            <th>Tokens</th>
            <th>Accuracy</th>
            <th>Sequences all right</th>
            <th>Answers scored</th>
          </tr>
        </thead>
        <tbody>
          {result.evaluations.map((entry) => (
            <tr key={entry.factor} data-testid="lab-eval-row">
              <td>{entry.factor === 1 ? 'training' : `${entry.factor}×`}</td>
              <td>{formatCount(entry.length)}</td>
              <td>{percent(entry.accuracy)}</td>
              <td>{percent(entry.sequenceAccuracy)}</td>
              <td>{formatCount(entry.answers)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <table className="table lab-table" aria-label="Mean delta per token role" data-testid={`${testId}-roles`}>
        <thead>
          <tr>
            <th>Mean delta</th>
            {roles.map((role) => (
              <th key={role}>{ROLE_NAMES[role]}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result.deltaByRole.map((summary) => (
            <tr key={summary.layer}>
              <td>layer {summary.layer}</td>
              {roles.map((role) => (
                <td key={role} className={role === TokenRole.Memorize || role === TokenRole.Key ? 'lab-anchor-value' : undefined}>
                  {deltaText(summary.meanDelta[role])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>

      {firstProfile && (
        <table className="table lab-table" aria-label={`Mean delta at each ${anchorName} and after it`}>
          <thead>
            <tr>
              <th>At each {anchorName}</th>
              {firstProfile.afterAnchor.map((_, k) => (
                <th key={k}>+{k}</th>
              ))}
              <th>further away</th>
            </tr>
          </thead>
          <tbody>
            {result.deltaProfile.map((profile) => (
              <tr key={profile.layer}>
                <td>layer {profile.layer}</td>
                {profile.afterAnchor.map((value, k) => (
                  <td key={k}>{deltaText(value)}</td>
                ))}
                <td>{deltaText(profile.farBackground)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small">
        Means over all {result.example.channels} channels and {options.traceSequences} fresh sequences. The causal conv1d mixes each token into the next {config.dConv - 1}{' '}
        positions, so a layer may open delta there rather than at the token itself.
      </p>

      <h3 className="lab-subtitle">Example sequence</h3>
      <TokenDeltaMap result={result} mapLayer={mapLayer} testId={`${testId}-example`} />
    </section>
  );
}

function describeTask(result: LabRunResult): string {
  const { task } = result.options;
  if (task.task === 'selective-copying') return `Selective copying: ${task.memorize} of ${task.dataVocab} tokens among ${task.contextLength} positions`;
  return `Induction heads: ${task.length} tokens, ${task.dataVocab} data tokens`;
}
