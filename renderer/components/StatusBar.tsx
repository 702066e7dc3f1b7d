// Bottom bar: the WebGPU adapter in use, the loaded model, a lab run in progress and the
// host (desktop or web), plus a banner when the adapter is a software fallback or WebGPU
// failed.

import { ENGINE_ERROR_TEXT } from '../engine/errors';
import type { AdapterSummary } from '../engine/protocol';
import { formatModelShape } from '../lib/format';
import type { ModelStatus } from '../state/engine-store';
import { isLabActive, type LabRunProgress } from '../state/lab-store';
import { useEngine, useLab, useServices } from '../state/react';

const MODEL_STATUS_TEXT: Record<ModelStatus, string> = {
  none: 'none loaded',
  loading: 'loading…',
  ready: 'none loaded',
  missing: 'no default model in this build',
  failed: 'none loaded (the last load failed)',
};

export function StatusBar() {
  const { platform } = useServices();
  const status = useEngine((state) => state.status);
  const adapter = useEngine((state) => state.adapter);
  const model = useEngine((state) => state.model);
  const modelStatus = useEngine((state) => state.modelStatus);
  const labActive = useLab((state) => isLabActive(state.status));
  const labRun = useLab((state) => state.run);
  let adapterText = 'unavailable';
  if (adapter) adapterText = adapter.name;
  else if (status === 'starting') adapterText = 'starting…';

  return (
    <footer className="status-bar">
      <span className={`status-dot status-${status}`} aria-hidden />
      <span className="status-item" title={adapter ? adapterTooltip(adapter) : undefined}>
        <span className="muted">WebGPU </span>
        <span data-testid="adapter-name">{adapterText}</span>
        {adapter?.backend && <span className="muted"> · {adapter.backend}</span>}
        {adapter && adapter.requestMode !== 'default' && <span className="muted"> · {adapter.requestMode} mode</span>}
        {adapter?.isFallbackAdapter && (
          <span className="badge badge-warning" data-testid="fallback-badge">
            fallback
          </span>
        )}
      </span>
      <span className="status-item">
        <span className="muted">Model </span>
        <span data-testid="status-model">
          {model ? `${model.source === 'default' ? 'default' : model.name} · ${formatModelShape(model)}` : MODEL_STATUS_TEXT[modelStatus]}
        </span>
      </span>
      {labActive && (
        <span className="status-item">
          <span className="muted">Lab </span>
          <span data-testid="status-lab">{labProgressText(labRun)}</span>
        </span>
      )}
      <span className="status-spacer" />
      <span className="status-item muted">{platform.kind === 'electron' ? 'Desktop app' : 'Web mode'}</span>
    </footer>
  );
}

/** Returns the lab run's progress in a few words, for the status bar. */
function labProgressText(run: LabRunProgress | null): string {
  if (!run) return 'starting…';
  if (run.phase === 'evaluating') return 'evaluating…';
  if (run.phase === 'inspecting') return 'tracing delta…';
  if (!run.latest) return 'starting…';
  return `step ${run.latest.step} / ${run.options.steps}`;
}

function adapterTooltip(adapter: AdapterSummary): string {
  const limits = adapter.limits;
  return [
    `vendor: ${adapter.vendor || '–'}, architecture: ${adapter.architecture || '–'}`,
    `requested with: ${adapter.requestMode}`,
    `max storage binding: ${Math.round(limits.maxStorageBufferBindingSize / 2 ** 20)} MiB`,
    `features: ${adapter.features.join(', ') || 'none'}`,
  ].join('\n');
}

/** Banner under the header for a fallback adapter or an engine that failed to start. */
export function AdapterBanner() {
  const services = useServices();
  const status = useEngine((state) => state.status);
  const adapter = useEngine((state) => state.adapter);
  const error = useEngine((state) => state.error);

  if (status === 'failed' && error) {
    return (
      <div className="banner banner-error" role="alert" data-testid="engine-banner">
        <div>
          <strong>{ENGINE_ERROR_TEXT[error.code].title}.</strong> {error.message} <span className="hint">{error.hint}</span>
        </div>
        <button className="button" onClick={() => void services.restartEngine()}>
          Restart engine
        </button>
      </div>
    );
  }
  if (adapter?.isFallbackAdapter) {
    return (
      <div className="banner banner-warning" role="status" data-testid="fallback-banner">
        <div>
          <strong>Software fallback adapter in use ({adapter.name}).</strong> WebGPU runs on the CPU here, so training and generation are much
          slower than on a GPU. Update the graphics driver, or on Linux install Mesa's Vulkan driver, to use real hardware.
        </div>
      </div>
    );
  }
  return null;
}
