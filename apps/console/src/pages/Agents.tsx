import { useEffect, useState, type FormEvent } from 'react';
import { api, query, type AdminSession, type Page } from '../lib/api';
import type { Agent, ApiToken, Certificate, IssuedToken, OidcSubject } from '../lib/types';
import { useAction } from '../lib/useAction';
import { usePoll } from '../lib/usePoll';
import { useTenants } from '../lib/useTenants';
import { ErrorNote, Field, Notice, Section, Select, time } from '../components/Common';
import { Table } from '../components/Table';

const capabilityList = (text: string) =>
  text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');

const agentPath = (agentId: string) => `/admin/v1/agents/${encodeURIComponent(agentId)}`;

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
  const filter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setCursor(null);
  };
  const tenantOptions = [
    ...(session.tenant_id ? [] : [{ value: '', label: 'All tenants' }]),
    ...(tenants.data ?? []).map((t) => ({ value: t.tenant_id, label: t.tenant_id })),
  ];
  return (
    <>
      <h1>Agents</h1>
      <Section title="Agents">
        <div className="row">
          <Select label="Filter by tenant" value={tenantFilter} onChange={filter(setTenantFilter)} options={tenantOptions} />
          <Select
            label="Filter by status"
            value={statusFilter}
            onChange={filter(setStatusFilter)}
            options={[
              { value: '', label: 'Any status' },
              { value: 'enabled', label: 'enabled' },
              { value: 'disabled', label: 'disabled' },
            ]}
          />
        </div>
        <ErrorNote error={list.error} />
        <Table
          rows={list.data?.items}
          rowKey={(a) => a.agent_id}
          selected={selected}
          empty="No agents match."
          columns={[
            { header: 'Agent', cell: (a) => a.agent_id },
            { header: 'Tenant', cell: (a) => a.tenant_id },
            { header: 'Name', cell: (a) => a.agent_name },
            { header: 'Capabilities', cell: (a) => a.capabilities.join(', ') },
            { header: 'Status', cell: (a) => a.status },
            {
              header: 'Actions',
              cell: (a) => (
                <button type="button" aria-label={`Manage ${a.agent_id}`} onClick={() => setSelected(a.agent_id)}>
                  Manage
                </button>
              ),
            },
          ]}
        />
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
  const [a2aUrl, setA2aUrl] = useState('');
  const [a2aToken, setA2aToken] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const { error, run } = useAction();
  useEffect(() => {
    if (!tenantId && tenants[0]) setTenantId(tenants[0]);
  }, [tenants, tenantId]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const agent = await api<Agent>('POST', '/admin/v1/agents', {
        agent_id: agentId,
        tenant_id: tenantId,
        ...(name && { agent_name: name }),
        capabilities: capabilityList(capabilities),
        ...(description && { description }),
        // A remote A2A agent: the gateway carries its sends out (A2A_EGRESS_ALLOW must list the host).
        ...(a2aUrl && { a2a_url: a2aUrl.trim(), ...(a2aToken && { a2a_credential: { type: 'bearer', token: a2aToken } }) }),
      });
      setNotice(`Registered ${agent.agent_id}`);
      setAgentId('');
      setName('');
      setCapabilities('');
      setDescription('');
      setA2aUrl('');
      setA2aToken('');
      onRegistered(agent.agent_id);
    });
  };
  return (
    <Section title="Register an agent">
      <form onSubmit={submit} className="grid-form">
        <Field label="Agent ID" value={agentId} onChange={setAgentId} required />
        <Select label="Tenant" value={tenantId} onChange={setTenantId} options={tenants.map((t) => ({ value: t, label: t }))} />
        <Field label="Agent name" value={name} onChange={setName} />
        <Field label="Capabilities" value={capabilities} onChange={setCapabilities} hint="comma-separated, e.g. plan, search" />
        <Field label="Description" value={description} onChange={setDescription} />
        <Field
          label="Remote A2A URL"
          value={a2aUrl}
          onChange={setA2aUrl}
          hint="only for an external A2A agent: its base or card URL, e.g. https://agent.example.com"
        />
        <Field
          label="A2A bearer token"
          type="password"
          value={a2aToken}
          onChange={setA2aToken}
          hint="sent by the gateway to the remote agent; stored encrypted, never shown again"
        />
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
  const agent = usePoll(() => api<Agent>('GET', agentPath(agentId)), null, [agentId]);
  const [name, setName] = useState('');
  const [capabilities, setCapabilities] = useState('');
  const [description, setDescription] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const { error, run } = useAction();
  useEffect(() => {
    if (!agent.data) return;
    setName(agent.data.agent_name);
    setCapabilities(agent.data.capabilities.join(', '));
    setDescription(agent.data.description ?? '');
  }, [agent.data]);

  const change = (body: Record<string, unknown>, done: string) =>
    void run(async () => {
      await api('PATCH', agentPath(agentId), body);
      setNotice(done);
      await agent.reload();
      onChanged();
    });
  const remove = () =>
    void run(async () => {
      await api('DELETE', agentPath(agentId));
      onDeleted();
    });
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
          {a.a2a_url && (
            <p>
              Remote A2A agent at <strong>{a.a2a_url}</strong> · credential{' '}
              <strong>{a.a2a_credential ? `${a.a2a_credential.type}, stored` : 'none'}</strong>
            </p>
          )}
          <form
            className="grid-form"
            onSubmit={(e) => {
              e.preventDefault();
              change({ agent_name: name, capabilities: capabilityList(capabilities), description: description || null }, 'Saved');
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
                <button type="button" onClick={() => change({ status: 'disabled' }, 'Disabled: its connections were closed')}>
                  Disable
                </button>
              ) : (
                <button type="button" onClick={() => change({ status: 'enabled' }, 'Enabled')}>
                  Enable
                </button>
              )}
              {confirmDelete ? (
                <>
                  <button type="button" className="danger" onClick={remove}>
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

/** A binding list of an agent: its rows, and an action that changes them then reloads. */
function useBindings<T>(path: string) {
  const list = usePoll(() => api<Page<T>>('GET', `${path}?limit=100`), null, [path]);
  const { error, run } = useAction();
  const change = (action: () => Promise<unknown>) =>
    run(async () => {
      await action();
      await list.reload();
    });
  return { rows: list.data?.items, error: list.error ?? error, change };
}

function Tokens({ agentId }: { agentId: string }) {
  const path = `${agentPath(agentId)}/tokens`;
  const tokens = useBindings<ApiToken>(path);
  const [name, setName] = useState('');
  const [expiresIn, setExpiresIn] = useState('');
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const create = (event: FormEvent) => {
    event.preventDefault();
    void tokens.change(async () => {
      const seconds = expiresIn.trim() === '' ? undefined : Number(expiresIn);
      if (seconds !== undefined && !Number.isInteger(seconds)) throw new Error('Expires in (seconds) must be a whole number');
      setIssued(await api<IssuedToken>('POST', path, { ...(name && { name }), ...(seconds !== undefined && { expires_in_s: seconds }) }));
      setCopied(null);
      setName('');
      setExpiresIn('');
    });
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
      <Table
        rows={tokens.rows}
        rowKey={(t) => t.token_id}
        columns={[
          { header: 'Name', cell: (t) => t.name ?? '—' },
          { header: 'Hint', cell: (t) => <code>{t.hint}</code> },
          { header: 'Created', cell: (t) => time(t.created_at) },
          { header: 'Expires', cell: (t) => time(t.expires_at) },
          { header: 'Last used', cell: (t) => time(t.last_used_at) },
          { header: 'State', cell: (t) => (t.revoked_at ? `revoked ${time(t.revoked_at)}` : 'active') },
          {
            header: 'Actions',
            cell: (t) =>
              !t.revoked_at && (
                <button
                  type="button"
                  aria-label={`Revoke token ${t.name ?? t.hint}`}
                  onClick={() => void tokens.change(() => api('DELETE', `/admin/v1/tokens/${encodeURIComponent(t.token_id)}`))}
                >
                  Revoke
                </button>
              ),
          },
        ]}
      />
      <form className="row" onSubmit={create}>
        <Field label="Token name" value={name} onChange={setName} />
        <Field label="Expires in (seconds)" value={expiresIn} onChange={setExpiresIn} type="number" hint="empty: never" />
        <button type="submit">Create token</button>
      </form>
      <ErrorNote error={tokens.error} />
    </div>
  );
}

function Certificates({ agentId }: { agentId: string }) {
  const path = `${agentPath(agentId)}/certificates`;
  const bindings = useBindings<Certificate>(path);
  const [kind, setKind] = useState<'fingerprint_sha256' | 'spiffe_id' | 'subject_cn'>('fingerprint_sha256');
  const [value, setValue] = useState('');
  const shown = (c: Certificate) => c.fingerprint_sha256 ?? c.spiffe_id ?? c.subject_cn ?? '';
  const bind = (event: FormEvent) => {
    event.preventDefault();
    void bindings.change(async () => {
      await api('POST', path, { [kind]: value.trim() });
      setValue('');
    });
  };
  return (
    <div className="sub">
      <h3>Certificate bindings</h3>
      <Table
        rows={bindings.rows}
        rowKey={(c) => c.id}
        columns={[
          { header: 'Bound by', cell: (c) => (c.fingerprint_sha256 ? 'SHA-256 fingerprint' : c.spiffe_id ? 'SPIFFE ID' : 'subject CN') },
          { header: 'Value', cell: (c) => <code>{shown(c)}</code> },
          { header: 'Created', cell: (c) => time(c.created_at) },
          {
            header: 'Actions',
            cell: (c) => (
              <button
                type="button"
                aria-label={`Remove certificate binding ${shown(c)}`}
                onClick={() => void bindings.change(() => api('DELETE', `/admin/v1/certificates/${encodeURIComponent(c.id)}`))}
              >
                Remove
              </button>
            ),
          },
        ]}
      />
      <form className="row" onSubmit={bind}>
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
      <ErrorNote error={bindings.error} />
    </div>
  );
}

function OidcSubjects({ agentId }: { agentId: string }) {
  const path = `${agentPath(agentId)}/oidc-subjects`;
  const bindings = useBindings<OidcSubject>(path);
  const [subject, setSubject] = useState('');
  const [issuer, setIssuer] = useState('');
  const bind = (event: FormEvent) => {
    event.preventDefault();
    void bindings.change(async () => {
      await api('POST', path, { subject: subject.trim(), ...(issuer.trim() && { issuer: issuer.trim() }) });
      setSubject('');
      setIssuer('');
    });
  };
  return (
    <div className="sub">
      <h3>OIDC bindings</h3>
      <Table
        rows={bindings.rows}
        rowKey={(s) => s.id}
        columns={[
          { header: 'Subject', cell: (s) => <code>{s.subject}</code> },
          { header: 'Issuer', cell: (s) => s.issuer ?? 'OIDC_ISSUER' },
          { header: 'Created', cell: (s) => time(s.created_at) },
          {
            header: 'Actions',
            cell: (s) => (
              <button
                type="button"
                aria-label={`Remove OIDC binding ${s.subject}`}
                onClick={() => void bindings.change(() => api('DELETE', `/admin/v1/oidc-subjects/${encodeURIComponent(s.id)}`))}
              >
                Remove
              </button>
            ),
          },
        ]}
      />
      <form className="row" onSubmit={bind}>
        <Field label="Subject" value={subject} onChange={setSubject} required />
        <Field label="Issuer" value={issuer} onChange={setIssuer} hint="empty: OIDC_ISSUER" />
        <button type="submit">Bind subject</button>
      </form>
      <ErrorNote error={bindings.error} />
    </div>
  );
}
