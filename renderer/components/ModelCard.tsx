// The loaded model: its name and size, or why none is loaded, with the actions that change
// it (open a checkpoint, load the default model, save the current weights).

import { formatCount } from '../lib/format';
import type { EngineStatus, ModelStatus } from '../state/engine-store';
import { useEngine, useServices } from '../state/react';

export function ModelCard({ busy }: { busy: boolean }) {
  const services = useServices();
  const engineStatus = useEngine((state) => state.status);
  const model = useEngine((state) => state.model);
  const modelStatus = useEngine((state) => state.modelStatus);
  const modelError = useEngine((state) => state.modelError);
  const defaultModelAvailable = useEngine((state) => state.defaultModelAvailable);
  const ready = engineStatus === 'ready';
  const loading = modelStatus === 'loading';

  return (
    <div className="panel model-card" data-testid="model-card" data-model-status={modelStatus}>
      <div className="model-card-main">
        <span className="model-card-label">Model</span>
        {model ? (
          <span className="model-card-name" data-testid="model-name">
            {model.source === 'default' ? 'Default model' : model.name}
          </span>
        ) : (
          <span className="model-card-name muted" data-testid="model-name">
            {modelStatusText(modelStatus, engineStatus)}
          </span>
        )}
        {model && (
          <span className="model-card-facts">
            <span>{formatCount(model.parameterCount)} parameters</span>
            {model.backbone === 'sashimi' && <span data-testid="model-backbone">U-Net {model.poolFactors.join('×')}</span>}
            <span>
              {model.layers} {model.backbone === 'sashimi' ? 'blocks' : 'layers'}
            </span>
            <span>D {model.modelWidth}</span>
            <span>N {model.stateSize}</span>
            {model.trainedSteps !== null && <span>{formatCount(model.trainedSteps)} steps trained</span>}
          </span>
        )}
      </div>
      {!model && modelError && modelStatus !== 'loading' && (
        <p className="model-card-problem" data-testid="model-problem">
          {modelError.message} <span className="hint">{modelError.hint}</span>
        </p>
      )}
      <div className="model-card-actions">
        <button className="button" data-testid="open-checkpoint" disabled={!ready || busy || loading} onClick={() => void services.openCheckpointFile()}>
          Open checkpoint…
        </button>
        <button
          className="button button-quiet"
          disabled={!ready || busy || loading || model?.source === 'default' || defaultModelAvailable === false}
          title={defaultModelAvailable === false ? 'This build has no default model' : undefined}
          onClick={() => void services.loadDefaultModel()}
        >
          Load default
        </button>
        <button className="button button-quiet" data-testid="save-checkpoint" disabled={!model || loading} onClick={() => void services.saveModelCheckpoint()}>
          Save weights…
        </button>
      </div>
    </div>
  );
}

function modelStatusText(modelStatus: ModelStatus, engineStatus: EngineStatus): string {
  if (engineStatus === 'starting') return 'Starting the engine…';
  if (engineStatus === 'failed') return 'Engine unavailable';
  if (modelStatus === 'loading') return 'Loading…';
  if (modelStatus === 'missing') return 'No default model in this build';
  if (modelStatus === 'failed') return 'Loading failed';
  return 'None loaded';
}
