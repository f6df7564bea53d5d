import { useEffect, useState } from 'react';
import { api, type AdminSession } from '../lib/api';
import { permissions } from '../lib/roles';
import { useTenants } from '../lib/useTenants';
import { usePoll } from '../lib/usePoll';
import { DocumentEditor } from '../components/DocumentEditor';
import { PolicyTest } from '../components/PolicyTest';
import { ErrorNote, Section, Select, time } from '../components/Common';

interface PolicyView {
  tenant_id: string;
  rules: unknown[];
  version: number;
  updated_at: string | null;
  updated_by: string | null;
  default: boolean;
}

/** A tenant's policy document (§7.1): the "Tenant" picker, the "Policy document" text area, "Save". */
export function Policies({ session }: { session: AdminSession }) {
  const tenants = useTenants();
  const [tenantId, setTenantId] = useState(session.tenant_id ?? '');
  useEffect(() => {
    const first = tenants.data?.[0]?.tenant_id;
    if (!tenantId && first) setTenantId(first);
  }, [tenants.data, tenantId]);
  const policy = usePoll(
    async () => (tenantId ? api<PolicyView>('GET', `/admin/v1/tenants/${encodeURIComponent(tenantId)}/policy`) : null),
    null,
    [tenantId],
  );
  const p = policy.data;
  return (
    <>
      <h1>Policies</h1>
      <Section title="Policy">
        <Select
          label="Tenant"
          value={tenantId}
          onChange={setTenantId}
          options={(tenants.data ?? []).map((t) => ({ value: t.tenant_id, label: t.tenant_id }))}
        />
        <ErrorNote error={tenants.error ?? policy.error} />
        {p && p.tenant_id === tenantId && (
          <>
            <p className="hint">
              {p.default
                ? 'No policy saved: the default applies (everything within the tenant).'
                : `Version ${p.version}, saved ${time(p.updated_at)} by ${p.updated_by ?? 'unknown'}.`}
            </p>
            <DocumentEditor
              key={tenantId}
              label="Policy document"
              saved={{ rules: p.rules }}
              readOnly={!permissions(session).editDocuments}
              save={async (document) => {
                await api('PUT', `/admin/v1/tenants/${encodeURIComponent(tenantId)}/policy`, document);
                await policy.reload();
              }}
            >
              {(text) => <PolicyTest tenantId={tenantId} text={text} />}
            </DocumentEditor>
          </>
        )}
        {!p && !policy.error && tenants.data?.length === 0 && <p>No tenant yet.</p>}
      </Section>
    </>
  );
}
