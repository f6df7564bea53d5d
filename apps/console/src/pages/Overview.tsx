import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { chartPoints, pushPoint, type Point } from '../lib/series';
import { usePoll } from '../lib/usePoll';
import { ErrorNote, Section, time } from '../components/Common';
import { Table } from '../components/Table';

interface OverviewView {
  generated_at: string;
  nodes: { node_id: string; sessions: number; messages_per_second: number | null; audit_lag_s: number | null }[];
  sessions: number;
  connected_agents: number;
  messages_per_second: number | null;
  audit: { lag_s: number | null; newest_record_at: string | null };
  readiness: { postgres: 'ok' | 'down'; redis: 'ok' | 'down' };
}

const REFRESH_MS = 2000;
const WINDOW_MS = 120_000;
const WIDTH = 600;
const HEIGHT = 160;

/** Nodes, sessions, messages per second (live chart), audit lag, readiness: `GET /admin/v1/overview` every 2 s. */
export function Overview() {
  const { data, error } = usePoll(() => api<OverviewView>('GET', '/admin/v1/overview'), REFRESH_MS, []);
  const [series, setSeries] = useState<Point[]>([]);

  useEffect(() => {
    if (data?.messages_per_second === null || data === null) return;
    setSeries((s) => pushPoint(s, { at: Date.parse(data.generated_at), value: data.messages_per_second ?? 0 }, WINDOW_MS));
  }, [data]);

  const { points, max } = chartPoints(series, WIDTH, HEIGHT, WINDOW_MS);
  const lag = (s: number | null) => (s === null ? 'no writes lately' : `${(s * 1000).toFixed(0)} ms`);
  return (
    <>
      <h1>Overview</h1>
      <ErrorNote error={error} />
      {data && (
        <>
          <div className="stats">
            <Stat label="Nodes" value={String(data.nodes.length)} />
            <Stat label="Sessions" value={String(data.sessions)} />
            <Stat label="Connected agents" value={String(data.connected_agents)} />
            <Stat label="Messages/s" value={data.messages_per_second === null ? '—' : data.messages_per_second.toFixed(1)} />
            <Stat label="Audit lag" value={lag(data.audit.lag_s)} />
            <Stat label="Postgres" value={data.readiness.postgres} bad={data.readiness.postgres !== 'ok'} />
            <Stat label="Redis" value={data.readiness.redis} bad={data.readiness.redis !== 'ok'} />
          </div>
          {data.messages_per_second !== null && (
            <Section title="Messages per second">
              <figure className="chart">
                <svg
                  viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
                  preserveAspectRatio="none"
                  role="img"
                  aria-label={`Messages per second over the last two minutes; now ${data.messages_per_second.toFixed(1)}`}
                >
                  <line x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} className="axis" />
                  <line x1="0" y1="0" x2={WIDTH} y2="0" className="grid" />
                  <line x1="0" y1={HEIGHT / 2} x2={WIDTH} y2={HEIGHT / 2} className="grid" />
                  {series.length > 1 && <polyline points={points} className="line" />}
                </svg>
                <figcaption>
                  0 – {max} msgs/s, last 2 minutes, every {REFRESH_MS / 1000} s
                </figcaption>
              </figure>
            </Section>
          )}
          <Section title="Nodes">
            <Table
              rows={data.nodes}
              rowKey={(n) => n.node_id}
              columns={[
                { header: 'Node', cell: (n) => n.node_id },
                { header: 'Sessions', cell: (n) => n.sessions },
                { header: 'Messages/s', cell: (n) => (n.messages_per_second === null ? '—' : n.messages_per_second.toFixed(1)) },
                { header: 'Audit lag', cell: (n) => lag(n.audit_lag_s) },
              ]}
            />
            <p className="hint">Newest audit record: {time(data.audit.newest_record_at)}</p>
          </Section>
        </>
      )}
    </>
  );
}

function Stat({ label, value, bad }: { label: string; value: string; bad?: boolean }) {
  return (
    <div className={`stat${bad ? ' bad' : ''}`}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
    </div>
  );
}
