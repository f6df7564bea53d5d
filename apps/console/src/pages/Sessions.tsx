import { useState } from 'react';
import { api, describeError, type Page } from '../lib/api';
import type { SessionView } from '../lib/types';
import { usePoll } from '../lib/usePoll';
import { ErrorNote, Notice, Section, time } from '../components/Common';

const REFRESH_MS = 2000;

/** Live sessions of every node, refreshed every 2 s; "Kick" closes one on whichever node holds it (reason `revoked`). */
export function Sessions() {
  const [live, setLive] = useState(true);
  const list = usePoll(() => api<Page<SessionView>>('GET', '/admin/v1/sessions?limit=500'), live ? REFRESH_MS : null, []);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const kick = async (s: SessionView) => {
    setError(null);
    try {
      await api('DELETE', `/admin/v1/sessions/${encodeURIComponent(s.session_id)}`);
      setNotice(`Kicked ${s.agent_id}`);
      await list.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
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
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Tenant</th>
              <th scope="col">Node</th>
              <th scope="col">Transport</th>
              <th scope="col">Address</th>
              <th scope="col">Connected</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((s) => (
              <tr key={s.session_id} data-agent-id={s.agent_id}>
                <td>{s.agent_id}</td>
                <td>{s.tenant_id}</td>
                <td>{s.node_id}</td>
                <td>{s.transport}</td>
                <td>{s.remote_addr}</td>
                <td>{time(s.connected_at)}</td>
                <td>{time(s.last_heartbeat)}</td>
                <td>
                  <button type="button" className="danger" onClick={() => void kick(s)}>
                    Kick
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data?.items.length === 0 && <p>No live sessions.</p>}
      </Section>
    </>
  );
}
