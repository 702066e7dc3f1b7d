// An engine or input error shown inside a view: title, message and what to do.

import { ENGINE_ERROR_TEXT } from '../engine/errors';
import type { EngineError } from '../engine/protocol';

export function ErrorPanel({ error, onDismiss, action }: { error: EngineError; onDismiss?: () => void; action?: { label: string; run: () => void } }) {
  return (
    <div className="error-panel" role="alert" data-testid="error-panel" data-code={error.code}>
      <div>
        <strong>{ENGINE_ERROR_TEXT[error.code].title}</strong>
        <p>{error.message}</p>
        <p className="hint">{error.hint}</p>
      </div>
      <div className="error-panel-actions">
        {action && (
          <button className="button" onClick={action.run}>
            {action.label}
          </button>
        )}
        {onDismiss && (
          <button className="button button-quiet" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}
