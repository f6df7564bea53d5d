import { useState, type FormEvent } from 'react';
import { api, type AdminSession } from '../lib/api';
import { permissions } from '../lib/roles';
import type { Tenant } from '../lib/types';
import { useAction } from '../lib/useAction';
import { useTenants } from '../lib/useTenants';
import { ErrorNote, Field, Notice, Section, time } from '../components/Common';
import { Table } from '../components/Table';

/** Tenants: the list (a tenant-bound admin sees its own), and creating one (admins of the whole deployment). */
export function Tenants({ session }: { session: AdminSession }) {
  const tenants = useTenants();
  const [tenantId, setTenantId] = useState('');
  const [name, setName] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const { error, run } = useAction();
  const create = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const tenant = await api<Tenant>('POST', '/admin/v1/tenants', { tenant_id: tenantId, name: name || tenantId });
      setNotice(`Created ${tenant.tenant_id}`);
      setTenantId('');
      setName('');
      await tenants.reload();
    });
  };
  return (
    <>
      <h1>Tenants</h1>
      <Section title="Tenants">
        <ErrorNote error={tenants.error} />
        <Table
          rows={tenants.data ?? undefined}
          rowKey={(t) => t.tenant_id}
          columns={[
            { header: 'Tenant', cell: (t) => t.tenant_id },
            { header: 'Name', cell: (t) => t.name },
            { header: 'Created', cell: (t) => time(t.created_at) },
          ]}
        />
      </Section>
      {permissions(session).createTenants && (
        <Section title="Create a tenant">
          <form className="row" onSubmit={create}>
            <Field label="Tenant ID" value={tenantId} onChange={setTenantId} required />
            <Field label="Tenant name" value={name} onChange={setName} />
            <button type="submit" className="primary">
              Create tenant
            </button>
          </form>
          <ErrorNote error={error} />
          <Notice text={notice} />
        </Section>
      )}
    </>
  );
}
