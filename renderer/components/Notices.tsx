// Stack of dismissible notices (errors, warnings, information) in the corner of the window.
// Information notices close by themselves after INFO_NOTICE_MS; errors and warnings stay
// until dismissed.

import { useEffect } from 'react';

import { useServices, useUi } from '../state/react';
import type { Notice } from '../state/ui-store';

const INFO_NOTICE_MS = 10_000;

export function Notices() {
  const notices = useUi((state) => state.notices);
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="region" aria-label="Notifications">
      {notices.map((notice) => (
        <NoticeItem key={notice.id} notice={notice} />
      ))}
    </div>
  );
}

function NoticeItem({ notice }: { notice: Notice }) {
  const { ui } = useServices();
  useEffect(() => {
    if (notice.level !== 'info') return;
    const timer = setTimeout(() => ui.getState().dismiss(notice.id), INFO_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice.id, notice.level, ui]);

  return (
    <div className={`notice notice-${notice.level}`} role={notice.level === 'error' ? 'alert' : 'status'} data-testid="notice" data-level={notice.level}>
      <div className="notice-body">
        <strong>{notice.title}</strong>
        <p>{notice.message}</p>
        {notice.hint && <p className="hint">{notice.hint}</p>}
      </div>
      <button className="icon-button" aria-label="Dismiss" onClick={() => ui.getState().dismiss(notice.id)}>
        ×
      </button>
    </div>
  );
}
