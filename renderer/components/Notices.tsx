// Stack of dismissible notices (errors, warnings, information) in the corner of the window.

import { useServices, useUi } from '../state/react';

export function Notices() {
  const notices = useUi((state) => state.notices);
  const { ui } = useServices();
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="region" aria-label="Notifications">
      {notices.map((notice) => (
        <div key={notice.id} className={`notice notice-${notice.level}`} role={notice.level === 'error' ? 'alert' : 'status'} data-testid="notice">
          <div className="notice-body">
            <strong>{notice.title}</strong>
            <p>{notice.message}</p>
            {notice.hint && <p className="hint">{notice.hint}</p>}
          </div>
          <button className="icon-button" aria-label="Dismiss" onClick={() => ui.getState().dismiss(notice.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
