import { useEffect, useState, type FormEvent } from 'react';
import { api, describeError } from '../lib/api';
import { ErrorNote, Field } from '../components/Common';

/**
 * Contract §11's sign-in page: "Sign in with SSO" (the `/admin/login` authorization-code flow) when
 * the gateway has it, and the break-glass form, "Admin token" and "Sign in", which trades
 * `ADMIN_TOKEN` for the same HttpOnly session cookie. The token is never kept in the page.
 */
export function SignIn({ onSignedIn, error: outer }: { onSignedIn: () => Promise<void>; error: string | null }) {
  const [methods, setMethods] = useState<{ sso: boolean; break_glass: boolean } | null>(null);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ sso: boolean; break_glass: boolean }>('GET', '/admin/login/methods').then(setMethods, (e: unknown) => setError(describeError(e)));
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/admin/login/token', { token });
      setToken('');
      await onSignedIn();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <h1>agent-gateway console</h1>
      <ErrorNote error={outer} />
      {methods?.sso && (
        <div className="card">
          <h2>Single sign-on</h2>
          <button type="button" className="primary" onClick={() => window.location.assign('/admin/login?return_to=%2Fconsole%2F')}>
            Sign in with SSO
          </button>
        </div>
      )}
      <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="break-glass-title">
        <h2 id="break-glass-title">Break-glass access</h2>
        <p className="hint">The deployment&apos;s ADMIN_TOKEN. Every sign-in is on the audit trail.</p>
        <Field label="Admin token" type="password" value={token} onChange={setToken} required autoComplete="current-password" />
        <button type="submit" className={methods?.sso ? '' : 'primary'} disabled={busy}>
          Sign in
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}
