import { api, type AdminSession } from '../lib/api';
import { permissions } from '../lib/roles';
import { usePoll } from '../lib/usePoll';
import { DocumentEditor } from '../components/DocumentEditor';
import { ErrorNote, Section, time } from '../components/Common';
import { Table } from '../components/Table';

interface RateLimitView {
  defaults?: Record<string, number>;
  tenants?: Record<string, Record<string, number>>;
  agents?: Record<string, Record<string, number>>;
  effective_defaults: Record<string, number>;
  version: number;
  updated_at: string | null;
  updated_by: string | null;
}

/** The deployment's rate-limit document (§7.2), edited like a policy; the effective defaults beside it. */
export function RateLimits({ session }: { session: AdminSession }) {
  const limits = usePoll(() => api<RateLimitView>('GET', '/admin/v1/rate-limits'), null, []);
  const l = limits.data;
  const document = l && {
    ...(l.defaults && { defaults: l.defaults }),
    ...(l.tenants && { tenants: l.tenants }),
    ...(l.agents && { agents: l.agents }),
  };
  return (
    <>
      <h1>Rate limits</h1>
      <ErrorNote error={limits.error} />
      {l && (
        <>
          <Section title="Effective defaults">
            <Table
              rows={Object.entries(l.effective_defaults)}
              rowKey={([name]) => name}
              columns={[
                { header: 'Limit', cell: ([name]) => name },
                { header: 'Value', cell: ([, value]) => value },
              ]}
            />
            <p className="hint">
              Version {l.version}
              {l.updated_at ? `, saved ${time(l.updated_at)} by ${l.updated_by ?? 'unknown'}` : ', never saved (RATE_LIMIT_DEFAULTS)'}.
            </p>
          </Section>
          <Section title="Limits">
            <DocumentEditor
              label="Rate-limit document"
              saved={document}
              readOnly={!permissions(session).editDocuments}
              save={async (doc) => {
                await api('PUT', '/admin/v1/rate-limits', doc);
                await limits.reload();
              }}
            />
          </Section>
        </>
      )}
    </>
  );
}
