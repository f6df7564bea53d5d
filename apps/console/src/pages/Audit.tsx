import { useEffect, useState, type FormEvent } from 'react';
import { api, describeError, query, type AdminSession, type Page } from '../lib/api';
import type { AuditRecord } from '../lib/types';
import { usePoll } from '../lib/usePoll';
import { ErrorNote, Field, Section, Select, time } from '../components/Common';
import { Table } from '../components/Table';

interface Filters {
  tenant_id: string;
  agent_id: string;
  action: string;
  since: string;
  until: string;
}

interface VerifyReport {
  ok: boolean;
  checked: number;
  complete: boolean;
  next_cursor: string | null;
  first_bad_id?: string;
  chain?: string;
  first_bad_seq?: number;
  problem?: string;
}

const PAGE_SIZE = 50;
/** Each verify call checks a bounded slice; the console walks the chain in at most this many calls. */
const MAX_VERIFY_CALLS = 200;

/** `datetime-local` (the browser's zone) → ISO 8601 UTC, as the API takes it. */
const iso = (local: string) => (local ? new Date(local).toISOString() : '');

/** The audit actions of the API's own OpenAPI document (the enum of `action`), for the filter. */
async function auditActions(): Promise<string[]> {
  const doc = await api<{
    paths: Record<string, { get?: { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> } }>;
  }>('GET', '/admin/docs/openapi.json');
  const schema = doc.paths['/admin/v1/audit']?.get?.responses?.['200']?.content?.['application/json']?.schema as
    { properties?: { items?: { items?: { properties?: { action?: { enum?: string[] } } } } } } | undefined;
  return schema?.properties?.items?.items?.properties?.action?.enum ?? [];
}

/** Audit (§7, §8): the filters, the records newest first in pages, a record's detail, "Verify" and "Export". */
export function Audit({ session }: { session: AdminSession }) {
  const blank: Filters = { tenant_id: session.tenant_id ?? '', agent_id: '', action: '', since: '', until: '' };
  const [draft, setDraft] = useState<Filters>(blank);
  const [filters, setFilters] = useState<Filters>(blank);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<AuditRecord | null>(null);
  const [actions, setActions] = useState<string[]>([]);
  const [verify, setVerify] = useState<{ busy: boolean; report: VerifyReport | null; checked: number; error: string | null }>({
    busy: false,
    report: null,
    checked: 0,
    error: null,
  });
  const [format, setFormat] = useState<'ndjson' | 'csv'>('ndjson');
  const cursor = cursors.at(-1) ?? null;
  const params = {
    tenant_id: filters.tenant_id,
    agent_id: filters.agent_id,
    action: filters.action,
    since: iso(filters.since),
    until: iso(filters.until),
  };
  const page = usePoll(() => api<Page<AuditRecord>>('GET', `/admin/v1/audit${query({ ...params, limit: PAGE_SIZE, cursor })}`), null, [
    filters,
    cursor,
  ]);

  useEffect(() => {
    auditActions().then(setActions, () => setActions([]));
  }, []);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([null]);
    setSelected(null);
  };

  const runVerify = async () => {
    setVerify({ busy: true, report: null, checked: 0, error: null });
    try {
      let next: string | null = null;
      let checked = 0;
      for (let call = 0; call < MAX_VERIFY_CALLS; call++) {
        const report: VerifyReport = await api<VerifyReport>(
          'GET',
          `/admin/v1/audit/verify${query({ tenant_id: filters.tenant_id, cursor: next })}`,
        );
        checked += report.checked;
        if (!report.ok || report.complete || !report.next_cursor) {
          setVerify({ busy: false, report, checked, error: null });
          return;
        }
        next = report.next_cursor;
        setVerify({ busy: true, report: null, checked, error: null });
      }
      setVerify({ busy: false, report: null, checked, error: `Stopped after ${MAX_VERIFY_CALLS} calls; no problem so far` });
    } catch (e) {
      setVerify({ busy: false, report: null, checked: 0, error: describeError(e) });
    }
  };

  const runExport = () => {
    const link = document.createElement('a');
    link.href = `/admin/v1/audit/export${query({ ...params, format })}`;
    link.download = `audit.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
  };

  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  return (
    <>
      <h1>Audit</h1>
      <Section title="Filters">
        <form className="grid-form" onSubmit={apply}>
          {session.tenant_id === null ? (
            <Field label="Tenant ID" value={draft.tenant_id} onChange={set('tenant_id')} />
          ) : (
            <p>Tenant {session.tenant_id}</p>
          )}
          <Field label="Agent ID" value={draft.agent_id} onChange={set('agent_id')} />
          <Select
            label="Action"
            value={draft.action}
            onChange={set('action')}
            options={[{ value: '', label: 'Any action' }, ...actions.map((a) => ({ value: a, label: a }))]}
          />
          <Field label="Since" type="datetime-local" value={draft.since} onChange={set('since')} />
          <Field label="Until" type="datetime-local" value={draft.until} onChange={set('until')} />
          <div className="actions">
            <button type="submit" className="primary">
              Apply filters
            </button>
            <button
              type="button"
              onClick={() => {
                setDraft(blank);
                setFilters(blank);
                setCursors([null]);
              }}
            >
              Clear filters
            </button>
          </div>
        </form>
      </Section>
      <Section
        title="Records"
        actions={
          <div className="row">
            <button type="button" onClick={() => void runVerify()} disabled={verify.busy}>
              Verify
            </button>
            <Select
              label="Export format"
              value={format}
              onChange={(v) => setFormat(v as 'ndjson' | 'csv')}
              options={[
                { value: 'ndjson', label: 'NDJSON' },
                { value: 'csv', label: 'CSV' },
              ]}
            />
            <button type="button" onClick={runExport}>
              Export
            </button>
          </div>
        }
      >
        <div role="status" className="verify">
          {verify.busy && `Verifying… ${verify.checked} records checked`}
          {verify.report?.ok && `Chain intact: ${verify.checked} records checked`}
          {verify.report && !verify.report.ok && (
            <span className="error">
              Chain broken ({verify.report.problem ?? 'problem'}) at record{' '}
              {verify.report.first_bad_id ?? `seq ${verify.report.first_bad_seq}`}
              {verify.report.chain ? ` of chain ${verify.report.chain}` : ''}; {verify.checked} records checked
            </span>
          )}
        </div>
        <ErrorNote error={verify.error ?? page.error} />
        <Table
          rows={page.data?.items}
          rowKey={(r) => r.id}
          selected={selected?.id ?? null}
          empty="No records match."
          columns={[
            { header: 'Time', cell: (r) => time(r.timestamp) },
            { header: 'Action', cell: (r) => r.action },
            { header: 'Outcome', cell: (r) => <span className={`outcome-${r.outcome}`}>{r.outcome}</span> },
            { header: 'Tenant', cell: (r) => r.tenant_id ?? '—' },
            { header: 'Actor', cell: (r) => `${r.actor.type} ${r.actor.id}` },
            { header: 'Subject', cell: (r) => r.subject ?? '—' },
            { header: 'Reason', cell: (r) => r.reason ?? '—' },
            {
              header: 'Record',
              cell: (r) => (
                <button type="button" aria-label={`Details of ${r.action} at ${time(r.timestamp)}`} onClick={() => setSelected(r)}>
                  Details
                </button>
              ),
            },
          ]}
        />
        <div className="row">
          {cursors.length > 1 && (
            <button type="button" onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </button>
          )}
          {page.data?.next_cursor && (
            <button type="button" onClick={() => setCursors((c) => [...c, page.data?.next_cursor ?? null])}>
              Next page
            </button>
          )}
        </div>
      </Section>
      {selected && (
        <Section
          title={`Record ${selected.id}`}
          actions={
            <button type="button" onClick={() => setSelected(null)}>
              Close
            </button>
          }
        >
          <dl className="record">
            <dt>Time</dt>
            <dd>{selected.timestamp}</dd>
            <dt>Action</dt>
            <dd>{selected.action}</dd>
            <dt>Outcome</dt>
            <dd>{selected.outcome}</dd>
            <dt>Session</dt>
            <dd>{selected.session_id ?? '—'}</dd>
            <dt>Remote address</dt>
            <dd>{selected.remote_addr ?? '—'}</dd>
            <dt>Node</dt>
            <dd>{selected.node_id}</dd>
            <dt>Sequence</dt>
            <dd>{selected.seq}</dd>
            <dt>Hash</dt>
            <dd>
              <code>{selected.hash}</code>
            </dd>
            <dt>Previous hash</dt>
            <dd>
              <code>{selected.prev_hash}</code>
            </dd>
          </dl>
          <h3>Details</h3>
          <pre className="details">{JSON.stringify(selected.details, null, 2)}</pre>
        </Section>
      )}
    </>
  );
}
