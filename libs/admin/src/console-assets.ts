import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { projectRoot } from '#libs/config';

/** Where the console is served on the admin listener (contract §11). */
export const CONSOLE_PATH = '/console';

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only. No inline script or
 * style, no `eval`, no framing, no other origin; `form-action 'self'` (sign-in posts are fetches).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The built console (Vite's output, `npm run build`): `dist/console` under the project. */
export function consoleDirectory(): string | null {
  const root = projectRoot();
  const dir = root && join(root, 'dist', 'console');
  return dir && existsSync(join(dir, 'index.html')) ? dir : null;
}

/**
 * Serves the console at `/console`: hashed assets (`/console/assets/*`) cacheable forever, the
 * index revalidated on every load (`no-cache`), and every other path under `/console` answered with
 * the index so that the app's own routes survive a reload. Every response carries {@link CONSOLE_CSP}.
 * A missing build answers 404 with the command that makes it.
 */
export function serveConsole(app: NestExpressApplication, dir: string | null = consoleDirectory()): void {
  const secure = (_request: Request, response: Response, next: NextFunction): void => {
    response.setHeader('content-security-policy', CONSOLE_CSP);
    next();
  };
  app.use(CONSOLE_PATH, secure);
  if (!dir) {
    new Logger('Console').warn(`the console is not built (no dist/console/index.html): run npm run build`);
    app.use(CONSOLE_PATH, (_request: Request, response: Response) => {
      response.status(404).json({ error: { code: 'NOT_FOUND', message: 'the console is not built on this node: run npm run build' } });
    });
    return;
  }
  app.useStaticAssets(join(dir, 'assets'), {
    prefix: `${CONSOLE_PATH}/assets/`,
    immutable: true,
    maxAge: '365d',
    index: false,
    fallthrough: false,
  });
  const index = join(dir, 'index.html');
  app.use(CONSOLE_PATH, (request: Request, response: Response, next: NextFunction) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    // A file name that is not there is a 404, not the app: only extension-less paths are app routes.
    if (/\.[A-Za-z0-9]+$/.test(request.path) && request.path !== '/index.html') {
      response.status(404).json({ error: { code: 'NOT_FOUND', message: `no file ${CONSOLE_PATH}${request.path.slice(0, 200)}` } });
      return;
    }
    response.setHeader('cache-control', 'no-cache');
    response.sendFile(index, { headers: { 'content-type': 'text/html; charset=utf-8' }, cacheControl: false });
  });
}
