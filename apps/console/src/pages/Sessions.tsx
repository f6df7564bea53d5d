import { useState } from 'react';
import { api, type Page } from '../lib/api';
import type { SessionView } from '../lib/types';
import { useAction } from '../lib/useAction';
import { usePoll } from '../lib/usePoll';
import { ErrorNote, Notice, Section, time } from '../components/Common';
import { Table } from '../components/Table';

const REFRESH_MS = 2000;

/** Live sessions of every node, refreshed every 2 s; "Kick" closes one on whichever node holds it (reason `revoked`). */
export function Sessions() {
  const [live, setLive] = useState(true);
  const list = usePoll(() => api<Page<SessionView>>('GET', '/admin/v1/sessions?limit=500'), live ? REFRESH_MS : null, []);
  const [notice, setNotice] = useState<string | null>(null);
  const { error, run } = useAction();
  const kick = (s: SessionView) =>
    void run(async () => {
      await api('DELETE', `/admin/v1/sessions/${encodeURIComponent(s.session_id)}`);
      setNotice(`Kicked ${s.agent_id}`);
      await list.reload();
    });
  return (
    <>
      <h1>Sessions</h1>
      <Section
        title="Live sessions"
        actions={
          <div className="row">
            <label className="check">
              <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live refresh
            </label>
            <button type="button" onClick={() => void list.reload()}>
              Refresh
            </button>
          </div>
        }
      >
        <ErrorNote error={list.error ?? error} />
        <Notice text={notice} />
        <Table
          rows={list.data?.items}
          rowKey={(s) => s.session_id}
          empty="No live sessions."
          columns={[
            { header: 'Agent', cell: (s) => s.agent_id },
            { header: 'Tenant', cell: (s) => s.tenant_id },
            { header: 'Node', cell: (s) => s.node_id },
            { header: 'Transport', cell: (s) => s.transport },
            { header: 'Address', cell: (s) => s.remote_addr },
            { header: 'Connected', cell: (s) => time(s.connected_at) },
            { header: 'Last heartbeat', cell: (s) => time(s.last_heartbeat) },
            {
              header: 'Actions',
              cell: (s) => (
                <button type="button" className="danger" onClick={() => kick(s)}>
                  Kick
                </button>
              ),
            },
          ]}
        />
      </Section>
    </>
  );
}
