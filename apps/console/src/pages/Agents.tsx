import { useEffect, useState, type FormEvent } from 'react';
import { api, describeError, query, type AdminSession, type Page } from '../lib/api';
import type { Agent, ApiToken, Certificate, IssuedToken, OidcSubject } from '../lib/types';
import { usePoll } from '../lib/usePoll';
import { useTenants } from '../lib/useTenants';
import { ErrorNote, Field, Notice, Section, Select, time } from '../components/Common';

const capabilityList = (text: string) =>
  text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');

/**
 * Agents: filter by tenant and status, register, edit, disable, delete; per agent its API tokens
 * (created and shown once, with a copy button; revoked), client-certificate and OIDC-subject bindings.
 */
export function Agents({ session }: { session: AdminSession }) {
  const tenants = useTenants();
  const [tenantFilter, setTenantFilter] = useState(session.tenant_id ?? '');
  const [statusFilter, setStatusFilter] = useState('');
  const [cursor, setCursor] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const list = usePoll(
    () => api<Page<Agent>>('GET', `/admin/v1/agents${query({ tenant_id: tenantFilter, status: statusFilter, limit: 50, cursor })}`),
    null,
    [tenantFilter, statusFilter, cursor],
  );
  const tenantOptions = [
    ...(session.tenant_id ? [] : [{ value: '', label: 'All tenants' }]),
    ...(tenants.data ?? []).map((t) => ({ value: t.tenant_id, label: t.tenant_id })),
  ];
  return (
    <>
      <h1>Agents</h1>
      <Section title="Agents">
        <div className="row">
          <Select
            label="Filter by tenant"
            value={tenantFilter}
            onChange={(v) => {
              setTenantFilter(v);
              setCursor(null);
            }}
            options={tenantOptions}
          />
          <Select
            label="Filter by status"
            value={statusFilter}
            onChange={(v) => {
              setStatusFilter(v);
              setCursor(null);
            }}
            options={[
              { value: '', label: 'Any status' },
              { value: 'enabled', label: 'enabled' },
              { value: 'disabled', label: 'disabled' },
            ]}
          />
        </div>
        <ErrorNote error={list.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Tenant</th>
              <th scope="col">Name</th>
              <th scope="col">Capabilities</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((a) => (
              <tr key={a.agent_id} className={a.agent_id === selected ? 'selected' : undefined}>
                <td>{a.agent_id}</td>
                <td>{a.tenant_id}</td>
                <td>{a.agent_name}</td>
                <td>{a.capabilities.join(', ')}</td>
                <td>{a.status}</td>
                <td>
                  <button type="button" aria-label={`Manage ${a.agent_id}`} onClick={() => setSelected(a.agent_id)}>
                    Manage
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data?.items.length === 0 && <p>No agents match.</p>}
        <div className="row">
          {cursor && (
            <button type="button" onClick={() => setCursor(null)}>
              First page
            </button>
          )}
          {list.data?.next_cursor && (
            <button type="button" onClick={() => setCursor(list.data?.next_cursor ?? null)}>
              Next page
            </button>
          )}
        </div>
      </Section>
      {selected && (
        <AgentDetail
          key={selected}
          agentId={selected}
          onChanged={() => void list.reload()}
          onDeleted={() => {
            setSelected(null);
            void list.reload();
          }}
        />
      )}
      <RegisterAgent
        tenants={(tenants.data ?? []).map((t) => t.tenant_id)}
        onRegistered={(id) => {
          setSelected(id);
          void list.reload();
        }}
      />
    </>
  );
}

function RegisterAgent({ tenants, onRegistered }: { tenants: string[]; onRegistered: (agentId: string) => void }) {
  const [agentId, setAgentId] = useState('');
  const [tenantId, setTenantId] = useState('');
  const [name, setName] = useState('');
  const [capabilities, setCapabilities] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (!tenantId && tenants[0]) setTenantId(tenants[0]);
  }, [tenants, tenantId]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const agent = await api<Agent>('POST', '/admin/v1/agents', {
        agent_id: agentId,
        tenant_id: tenantId,
        ...(name && { agent_name: name }),
        capabilities: capabilityList(capabilities),
        ...(description && { description }),
      });
      setNotice(`Registered ${agent.agent_id}`);
      setAgentId('');
      setName('');
      setCapabilities('');
      setDescription('');
      onRegistered(agent.agent_id);
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <Section title="Register an agent">
      <form onSubmit={(e) => void submit(e)} className="grid-form">
        <Field label="Agent ID" value={agentId} onChange={setAgentId} required />
        <Select label="Tenant" value={tenantId} onChange={setTenantId} options={tenants.map((t) => ({ value: t, label: t }))} />
        <Field label="Agent name" value={name} onChange={setName} />
        <Field label="Capabilities" value={capabilities} onChange={setCapabilities} hint="comma-separated, e.g. plan, search" />
        <Field label="Description" value={description} onChange={setDescription} />
        <div className="actions">
          <button type="submit" className="primary">
            Register
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      <Notice text={notice} />
    </Section>
  );
}

function AgentDetail({ agentId, onChanged, onDeleted }: { agentId: string; onChanged: () => void; onDeleted: () => void }) {
  const agent = usePoll(() => api<Agent>('GET', `/admin/v1/agents/${encodeURIComponent(agentId)}`), null, [agentId]);
  const [name, setName] = useState('');
  const [capabilities, setCapabilities] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  useEffect(() => {
    if (!agent.data) return;
    setName(agent.data.agent_name);
    setCapabilities(agent.data.capabilities.join(', '));
    setDescription(agent.data.description ?? '');
  }, [agent.data]);

  const change = async (body: Record<string, unknown>, done: string) => {
    setError(null);
    try {
      await api('PATCH', `/admin/v1/agents/${encodeURIComponent(agentId)}`, body);
      setNotice(done);
      await agent.reload();
      onChanged();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const remove = async () => {
    try {
      await api('DELETE', `/admin/v1/agents/${encodeURIComponent(agentId)}`);
      onDeleted();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const a = agent.data;
  return (
    <Section title={`Agent ${agentId}`}>
      <ErrorNote error={agent.error ?? error} />
      <Notice text={notice} />
      {a && (
        <>
          <p>
            Tenant <strong>{a.tenant_id}</strong> · status <strong>{a.status}</strong> · created {time(a.created_at)}
          </p>
          <form
            className="grid-form"
            onSubmit={(e) => {
              e.preventDefault();
              void change({ agent_name: name, capabilities: capabilityList(capabilities), description: description || null }, 'Saved');
            }}
          >
            <Field label="Agent name" value={name} onChange={setName} required />
            <Field label="Capabilities" value={capabilities} onChange={setCapabilities} hint="comma-separated" />
            <Field label="Description" value={description} onChange={setDescription} />
            <div className="actions">
              <button type="submit" className="primary">
                Save agent
              </button>
              {a.status === 'enabled' ? (
                <button type="button" onClick={() => void change({ status: 'disabled' }, 'Disabled: its connections were closed')}>
                  Disable
                </button>
              ) : (
                <button type="button" onClick={() => void change({ status: 'enabled' }, 'Enabled')}>
                  Enable
                </button>
              )}
              {confirmDelete ? (
                <>
                  <button type="button" className="danger" onClick={() => void remove()}>
                    Confirm delete
                  </button>
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    Cancel
                  </button>
                </>
              ) : (
                <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              )}
            </div>
          </form>
          <Tokens agentId={agentId} />
          <Certificates agentId={agentId} />
          <OidcSubjects agentId={agentId} />
        </>
      )}
    </Section>
  );
}

function Tokens({ agentId }: { agentId: string }) {
  const path = `/admin/v1/agents/${encodeURIComponent(agentId)}/tokens`;
  const tokens = usePoll(() => api<Page<ApiToken>>('GET', `${path}?limit=100`), null, [agentId]);
  const [name, setName] = useState('');
  const [expiresIn, setExpiresIn] = useState('');
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const seconds = expiresIn.trim() === '' ? undefined : Number(expiresIn);
      if (seconds !== undefined && !Number.isInteger(seconds)) throw new Error('Expires in (seconds) must be a whole number');
      setIssued(await api<IssuedToken>('POST', path, { ...(name && { name }), ...(seconds !== undefined && { expires_in_s: seconds }) }));
      setCopied(null);
      setName('');
      setExpiresIn('');
      await tokens.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const revoke = async (tokenId: string) => {
    try {
      await api('DELETE', `/admin/v1/tokens/${encodeURIComponent(tokenId)}`);
      await tokens.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const copy = async () => {
    if (!issued) return;
    try {
      await navigator.clipboard.writeText(issued.token);
      setCopied('Copied to the clipboard');
    } catch {
      setCopied('The browser refused the clipboard: select the token and copy it');
    }
  };
  return (
    <div className="sub">
      <h3>API tokens</h3>
      {issued && (
        <div className="issued" role="region" aria-label="Token shown once">
          <p>
            <strong>Shown once.</strong> Copy it now: the gateway keeps only its hash.
          </p>
          <div className="row">
            <div className="field grow">
              <label htmlFor="issued-token">New token</label>
              <input id="issued-token" readOnly value={issued.token} onFocus={(e) => e.target.select()} />
            </div>
            <button type="button" onClick={() => void copy()}>
              Copy
            </button>
            <button type="button" onClick={() => setIssued(null)}>
              Done
            </button>
          </div>
          <Notice text={copied} />
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Hint</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.items.map((t) => (
            <tr key={t.token_id}>
              <td>{t.name ?? '—'}</td>
              <td>
                <code>{t.hint}</code>
              </td>
              <td>{time(t.created_at)}</td>
              <td>{time(t.expires_at)}</td>
              <td>{time(t.last_used_at)}</td>
              <td>{t.revoked_at ? `revoked ${time(t.revoked_at)}` : 'active'}</td>
              <td>
                {!t.revoked_at && (
                  <button type="button" aria-label={`Revoke token ${t.name ?? t.hint}`} onClick={() => void revoke(t.token_id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row" onSubmit={(e) => void create(e)}>
        <Field label="Token name" value={name} onChange={setName} />
        <Field label="Expires in (seconds)" value={expiresIn} onChange={setExpiresIn} type="number" hint="empty: never" />
        <button type="submit">Create token</button>
      </form>
      <ErrorNote error={tokens.error ?? error} />
    </div>
  );
}

function Certificates({ agentId }: { agentId: string }) {
  const path = `/admin/v1/agents/${encodeURIComponent(agentId)}/certificates`;
  const list = usePoll(() => api<Page<Certificate>>('GET', `${path}?limit=100`), null, [agentId]);
  const [kind, setKind] = useState<'fingerprint_sha256' | 'spiffe_id' | 'subject_cn'>('fingerprint_sha256');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const bind = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', path, { [kind]: value.trim() });
      setValue('');
      await list.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const remove = async (id: string) => {
    try {
      await api('DELETE', `/admin/v1/certificates/${encodeURIComponent(id)}`);
      await list.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <div className="sub">
      <h3>Certificate bindings</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Bound by</th>
            <th scope="col">Value</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((c) => {
            const by = c.fingerprint_sha256 ? 'SHA-256 fingerprint' : c.spiffe_id ? 'SPIFFE ID' : 'subject CN';
            const shown = c.fingerprint_sha256 ?? c.spiffe_id ?? c.subject_cn ?? '';
            return (
              <tr key={c.id}>
                <td>{by}</td>
                <td>
                  <code>{shown}</code>
                </td>
                <td>{time(c.created_at)}</td>
                <td>
                  <button type="button" aria-label={`Remove certificate binding ${shown}`} onClick={() => void remove(c.id)}>
                    Remove
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form className="row" onSubmit={(e) => void bind(e)}>
        <Select
          label="Bind by"
          value={kind}
          onChange={(v) => setKind(v as typeof kind)}
          options={[
            { value: 'fingerprint_sha256', label: 'SHA-256 fingerprint' },
            { value: 'spiffe_id', label: 'SPIFFE ID' },
            { value: 'subject_cn', label: 'Subject CN' },
          ]}
        />
        <Field label="Certificate value" value={value} onChange={setValue} required />
        <button type="submit">Bind certificate</button>
      </form>
      <ErrorNote error={list.error ?? error} />
    </div>
  );
}

function OidcSubjects({ agentId }: { agentId: string }) {
  const path = `/admin/v1/agents/${encodeURIComponent(agentId)}/oidc-subjects`;
  const list = usePoll(() => api<Page<OidcSubject>>('GET', `${path}?limit=100`), null, [agentId]);
  const [subject, setSubject] = useState('');
  const [issuer, setIssuer] = useState('');
  const [error, setError] = useState<string | null>(null);
  const bind = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', path, { subject: subject.trim(), ...(issuer.trim() && { issuer: issuer.trim() }) });
      setSubject('');
      setIssuer('');
      await list.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  const remove = async (id: string) => {
    try {
      await api('DELETE', `/admin/v1/oidc-subjects/${encodeURIComponent(id)}`);
      await list.reload();
    } catch (e) {
      setError(describeError(e));
    }
  };
  return (
    <div className="sub">
      <h3>OIDC bindings</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Subject</th>
            <th scope="col">Issuer</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((s) => (
            <tr key={s.id}>
              <td>
                <code>{s.subject}</code>
              </td>
              <td>{s.issuer ?? 'OIDC_ISSUER'}</td>
              <td>{time(s.created_at)}</td>
              <td>
                <button type="button" aria-label={`Remove OIDC binding ${s.subject}`} onClick={() => void remove(s.id)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row" onSubmit={(e) => void bind(e)}>
        <Field label="Subject" value={subject} onChange={setSubject} required />
        <Field label="Issuer" value={issuer} onChange={setIssuer} hint="empty: OIDC_ISSUER" />
        <button type="submit">Bind subject</button>
      </form>
      <ErrorNote error={list.error ?? error} />
    </div>
  );
}
