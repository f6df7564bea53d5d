import { useState, type FormEvent } from 'react';
import { api, describeError } from '../lib/api';
import { ErrorNote, Field, Select } from './Common';

interface Decision {
  tenant_id: string;
  allowed: boolean;
  reason: 'allowed_by_rule' | 'no_allow_rule' | 'denied_by_rule' | 'evaluation_error';
  rule: number | null;
}

interface Verdict {
  allowed: boolean;
  sender: Decision;
  receiver: Decision | null;
}

const list = (text: string) =>
  text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');

function describe(d: Decision): string {
  switch (d.reason) {
    case 'allowed_by_rule':
      return `${d.tenant_id}: allowed by rule ${d.rule}`;
    case 'denied_by_rule':
      return `${d.tenant_id}: denied by rule ${d.rule}`;
    case 'no_allow_rule':
      return `${d.tenant_id}: no rule allows it`;
    case 'evaluation_error':
      return `${d.tenant_id}: the policy could not be evaluated (denied)`;
  }
}

/**
 * The policy test box: a would-be send, publish or subscribe evaluated by the gateway
 * (`POST …/policy/test`) against the document as it stands in the editor, saved or not.
 */
export function PolicyTest({ tenantId, text }: { tenantId: string; text: string }) {
  const [action, setAction] = useState<'send' | 'publish' | 'subscribe'>('send');
  const [from, setFrom] = useState('');
  const [fromCapabilities, setFromCapabilities] = useState('');
  const [to, setTo] = useState('');
  const [toCapabilities, setToCapabilities] = useState('');
  const [toTenant, setToTenant] = useState('');
  const [topic, setTopic] = useState('');
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (event: FormEvent) => {
    event.preventDefault();
    setVerdict(null);
    setError(null);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (e) {
      setError(`The policy document is not JSON: ${(e as Error).message}`);
      return;
    }
    const subject = { agent_id: from, capabilities: list(fromCapabilities) };
    const body =
      action === 'send'
        ? {
            document,
            action,
            from: subject,
            to: { agent_id: to, capabilities: list(toCapabilities), ...(toTenant && { tenant_id: toTenant }) },
          }
        : { document, action, from: subject, topic };
    try {
      setVerdict(await api<Verdict>('POST', `/admin/v1/tenants/${encodeURIComponent(tenantId)}/policy/test`, body));
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <section className="sub" aria-labelledby="policy-test-title">
      <h3 id="policy-test-title">Test the policy</h3>
      <p className="hint">Evaluates a request against the document above, saved or not. Nothing is sent.</p>
      <form className="grid-form" onSubmit={(e) => void run(e)}>
        <Select
          label="Test action"
          value={action}
          onChange={(v) => setAction(v as typeof action)}
          options={[
            { value: 'send', label: 'send' },
            { value: 'publish', label: 'publish' },
            { value: 'subscribe', label: 'subscribe' },
          ]}
        />
        <Field label="From agent ID" value={from} onChange={setFrom} required />
        <Field label="From capabilities" value={fromCapabilities} onChange={setFromCapabilities} hint="comma-separated" />
        {action === 'send' ? (
          <>
            <Field label="To agent ID" value={to} onChange={setTo} required />
            <Field label="To capabilities" value={toCapabilities} onChange={setToCapabilities} hint="comma-separated" />
            <Field label="To tenant" value={toTenant} onChange={setToTenant} hint={`empty: ${tenantId}`} />
          </>
        ) : (
          <Field label="Topic" value={topic} onChange={setTopic} required />
        )}
        <div className="actions">
          <button type="submit">Test</button>
        </div>
      </form>
      <ErrorNote error={error} />
      {verdict && (
        <div role="status" className={verdict.allowed ? 'notice verdict' : 'error verdict'}>
          <strong>{verdict.allowed ? 'Allowed' : 'Denied'}</strong> — {describe(verdict.sender)}
          {verdict.receiver && `; ${describe(verdict.receiver)}`}
        </div>
      )}
    </section>
  );
}
