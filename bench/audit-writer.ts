/**
 * `npm run bench:audit`: only the audit writer against a raw COPY (bench/audit.ts), with ROWS
 * rows (default 50000) per round, BENCH_ROUNDS alternating rounds (default 3), on a database of
 * its own: quicker than the whole bench when working on the writer.
 */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { writerAgainstCopyRounds } from './audit.js';
const DB = 'postgresql://postgres@localhost:5432/agw_auditbench';
const admin = new pg.Client({ connectionString: 'postgresql://postgres@localhost:5432/postgres' });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS agw_auditbench WITH (FORCE)');
await admin.end();
// Let a worker create and migrate the database once.
const start = (keyPrefix: string): Promise<() => void> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env.WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
        new URL('../apps/audit-worker/src/main.js', import.meta.url).pathname,
      ],
      {
        env: { ...process.env, DATABASE_URL: DB, REDIS_KEY_PREFIX: keyPrefix, LOG_FORMAT: 'json', AUDIT_ALLOW_VOLATILE_REDIS: 'true' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('"ready"')) resolve(() => child.kill('SIGTERM'));
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
(await start('agwbench-init:'))();
await new Promise((r) => setTimeout(r, 1000));
const db = new pg.Pool({ connectionString: DB, max: 2 });
const rows = Number(process.env.ROWS ?? 50000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
console.log(JSON.stringify(await writerAgainstCopyRounds({ db, redisUrl: 'redis://localhost:6379', rows, startWorker: start }, rounds)));
await db.end();
