import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, describeError, SESSION_ENDED, setCsrfToken, type AdminSession } from './lib/api';
import { PAGES, visiblePages, type PagePath } from './lib/roles';
import { BASE, navigate, useRoute } from './lib/router';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Agents } from './pages/Agents';
import { Sessions } from './pages/Sessions';
import { Tenants } from './pages/Tenants';
import { Policies } from './pages/Policies';
import { RateLimits } from './pages/RateLimits';
import { Audit } from './pages/Audit';
import { ErrorNote } from './components/Common';

/** The signed-in console: the session decides which pages exist (links it may not use are not shown). */
export function App() {
  const [session, setSession] = useState<AdminSession | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();

  const refresh = useCallback(async () => {
    try {
      const current = await api<AdminSession>('GET', '/admin/session');
      setCsrfToken(current.csrf_token);
      setSession(current);
      setError(null);
    } catch (e) {
      setCsrfToken(null);
      setSession(null);
      if (!(e instanceof ApiError && e.status === 401)) setError(describeError(e));
    }
  }, []);

  useEffect(() => {
    void refresh();
    // A session that ends while the console is open (expiry, sign-out elsewhere) brings back the sign-in page.
    const ended = () => void refresh();
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, [refresh]);

  const pages = session ? visiblePages(session) : [];
  const active = (pages as string[]).includes(route) ? (route as PagePath) : pages[0];
  useEffect(() => {
    // The first page this admin may use, for / and for pages of other roles.
    if (active && active !== route) window.history.replaceState(null, '', `${BASE}${active}`);
  }, [active, route]);

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={refresh} error={error} />;

  const signOut = async () => {
    try {
      const result = await api<{ end_session_url: string | null }>('POST', '/admin/logout');
      setCsrfToken(null);
      if (result.end_session_url) window.location.assign(result.end_session_url);
      else setSession(null);
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <div className="layout">
      <header className="top">
        <span className="brand">agent-gateway</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.filter((p) => pages.includes(p.path)).map((p) => (
              <li key={p.path}>
                <a
                  href={`${BASE}${p.path}`}
                  aria-current={p.path === active ? 'page' : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    navigate(p.path);
                  }}
                >
                  {p.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {session.subject} · {session.roles.join(', ')}
            {session.tenant_id ? ` · tenant ${session.tenant_id}` : ''}
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <ErrorNote error={error} />
        {active === undefined && <p>This account has no role the console can use.</p>}
        {active === '/overview' && <Overview />}
        {active === '/agents' && <Agents session={session} />}
        {active === '/sessions' && <Sessions />}
        {active === '/tenants' && <Tenants session={session} />}
        {active === '/policies' && <Policies session={session} />}
        {active === '/rate-limits' && <RateLimits session={session} />}
        {active === '/audit' && <Audit session={session} />}
      </main>
    </div>
  );
}
