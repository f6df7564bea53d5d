import { useState, type FormEvent } from 'react';
import { api, describeError, type AdminSession } from '../lib/api';
import { permissions } from '../lib/roles';
import type { Tenant } from '../lib/types';
import { useTenants } from '../lib/useTenants';
import { ErrorNote, Field, Notice, Section, time } from '../components/Common';

/** Tenants: the list (a tenant-bound admin sees its own), and creating one (admins of the whole deployment). */
export function Tenants({ session }: { session: AdminSession }) {
  const tenants = useTenants();
  const [tenantId, setTenantId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const tenant = await api<Tenant>('POST', '/admin/v1/tenants', { tenant_id: tenantId, name: name || tenantId });
      setNotice(`Created ${tenant.tenant_id}`);
      setTenantId('');
      setName('');
      await tenants.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <>
      <h1>Tenants</h1>
      <Section title="Tenants">
        <ErrorNote error={tenants.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {tenants.data?.map((t) => (
              <tr key={t.tenant_id}>
                <td>{t.tenant_id}</td>
                <td>{t.name}</td>
                <td>{time(t.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {permissions(session).createTenants && (
        <Section title="Create a tenant">
          <form className="row" onSubmit={(e) => void create(e)}>
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
