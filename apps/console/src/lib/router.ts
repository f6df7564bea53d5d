import { useEffect, useState } from 'react';

/** The console lives under /console; its routes are the rest of the path. */
export const BASE = '/console';

function current(): string {
  const path = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return path === '' ? '/' : path;
}

/** The current route, following link clicks (pushState) and the back button. */
export function useRoute(): string {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return route;
}

/** Goes to a console route without reloading. */
export function navigate(route: string): void {
  window.history.pushState(null, '', `${BASE}${route}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
