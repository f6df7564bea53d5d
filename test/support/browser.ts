/**
 * A minimal browser for login flows: it follows redirects itself, keeps cookies per origin (as
 * `Set-Cookie` sets them, honouring `Max-Age=0` deletions), and submits the HTML forms of an IdP's
 * login and consent pages, filling in `login` and `password`.
 */
export interface BrowserResponse {
  url: string;
  status: number;
  headers: Headers;
  body: string;
  /** Every `Set-Cookie` header of this response. */
  setCookies: string[];
}

export class TestBrowser {
  private readonly jar = new Map<string, Map<string, string>>();
  /** Every response on the way, redirects included. */
  readonly history: BrowserResponse[] = [];

  /** The cookies this browser holds for an origin. */
  cookies(url: string): Map<string, string> {
    const origin = new URL(url).origin;
    let cookies = this.jar.get(origin);
    if (!cookies) this.jar.set(origin, (cookies = new Map<string, string>()));
    return cookies;
  }

  cookieHeader(url: string): string {
    return [...this.cookies(url)].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** One request, no redirect followed; cookies stored. */
  async request(
    method: string,
    url: string,
    init: { body?: URLSearchParams; headers?: Record<string, string> } = {},
  ): Promise<BrowserResponse> {
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(url), ...init.headers },
      ...(init.body && { body: init.body }),
    });
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies(url).delete(name);
      else this.cookies(url).set(name, value);
    }
    const result = { url, status: response.status, headers: response.headers, body: await response.text(), setCookies };
    this.history.push(result);
    return result;
  }

  /**
   * Navigates like a browser: follows redirects, and on an HTML page with a form submits it with
   * `fields` merged over its hidden inputs, until a page without a form (or `stopAt` matches the URL
   * about to be requested, which is then returned unrequested as a 0-status response).
   */
  async navigate(url: string, fields: Record<string, string> = {}, stopAt?: (url: string) => boolean): Promise<BrowserResponse> {
    let method = 'GET';
    let body: URLSearchParams | undefined;
    for (let step = 0; step < 20; step++) {
      if (stopAt?.(url)) return { url, status: 0, headers: new Headers(), body: '', setCookies: [] };
      const response = await this.request(method, url, body ? { body } : {});
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url).href;
        method = 'GET';
        body = undefined;
        continue;
      }
      const form = /<form[^>]*action="([^"]*)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(response.body);
      if (!form || !(response.headers.get('content-type') ?? '').includes('text/html')) return response;
      const inputs = new URLSearchParams();
      for (const [tag] of (form[2] ?? '').matchAll(/<input[^>]*>/gi)) {
        const name = /\bname="([^"]+)"/i.exec(tag)?.[1];
        if (name !== undefined) inputs.set(name, fields[name] ?? decodeEntities(/\bvalue="([^"]*)"/i.exec(tag)?.[1] ?? ''));
      }
      url = new URL(decodeEntities(form[1] ?? ''), url).href;
      method = 'POST';
      body = inputs;
    }
    throw new Error(`more than 20 steps navigating from ${url}`);
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;/g, '/');
}
