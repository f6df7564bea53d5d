import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** One migration found on disk: `prisma/migrations/<id>/migration.sql`. */
export interface Migration {
  id: string;
  sql: string;
  checksum: string;
}

/** What {@link migrateDatabase} did. */
export interface MigrationReport {
  databaseCreated: boolean;
  applied: string[];
}

/** Postgres could not be used; `hint` says what the operator should do. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// A fixed key for pg_advisory_lock, so that nodes starting together migrate one at a time.
const MIGRATION_LOCK_KEY = 0x61677731;

/** Finds `prisma/migrations` by walking up from this file (works from sources and from `dist/`). */
export function findMigrationsDir(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`prisma/migrations not found above ${from}`);
    dir = parent;
  }
}

/** Reads the migrations in order of their directory names. */
export async function loadMigrations(dir = findMigrationsDir()): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const ids = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    ids.map(async (id) => {
      const sql = await readFile(join(dir, id, 'migration.sql'), 'utf8');
      return { id, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Creates the database named in `databaseUrl` if it is missing, then applies the migrations it has
 * not seen, each in its own transaction, under an advisory lock. A migration edited after it was
 * applied is refused: the schema would no longer be what the code expects.
 */
export async function migrateDatabase(databaseUrl: string, migrations?: Migration[]): Promise<MigrationReport> {
  const databaseCreated = await ensureDatabase(databaseUrl);
  const all = migrations ?? (await loadMigrations());
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await connectOrExplain(client, databaseUrl);
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS "schema_migrations" (
      "id" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: string; checksum: string }>('SELECT id, checksum FROM "schema_migrations"');
    const done = new Map(rows.map((r) => [r.id, r.checksum]));
    for (const migration of all) {
      const seen = done.get(migration.id);
      if (seen !== undefined) {
        if (seen !== migration.checksum) {
          throw new DatabaseUnavailableError(
            `migration ${migration.id} was changed after it was applied`,
            'restore the original migration file and add a new migration for the change',
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO "schema_migrations" (id, checksum) VALUES ($1, $2)', [migration.id, migration.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new DatabaseUnavailableError(
          `migration ${migration.id} failed: ${(error as Error).message}`,
          'fix the migration and start again',
          { cause: error },
        );
      }
      applied.push(migration.id);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
  return { databaseCreated, applied };
}

async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new DatabaseUnavailableError('DATABASE_URL names no database', 'add the database name to the URL path');
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await connectOrExplain(client, databaseUrl);
  } catch (error) {
    // Without access to the maintenance database we cannot create anything; the target may exist.
    if (error instanceof DatabaseUnavailableError && (error.cause as { code?: string } | undefined)?.code === '3D000') return false;
    throw error;
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      return true;
    } catch (error) {
      // Created concurrently by another node: 42P04, or 23505 when both raced past the catalog check.
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw new DatabaseUnavailableError(
        `cannot create database "${name}": ${(error as Error).message}`,
        'create it by hand or grant CREATEDB to the user in DATABASE_URL',
        { cause: error },
      );
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function connectOrExplain(client: pg.Client, databaseUrl: string): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw explainConnectError(error, databaseUrl);
  }
}

/** Turns a driver error into one sentence and a hint. */
export function explainConnectError(error: unknown, databaseUrl: string): DatabaseUnavailableError {
  const code = (error as { code?: string }).code;
  const url = new URL(databaseUrl);
  const where = `${url.hostname || 'localhost'}:${url.port || 5432}`;
  switch (code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'EAI_AGAIN':
      return new DatabaseUnavailableError(
        `cannot reach Postgres at ${where} (${code})`,
        'start Postgres or set DATABASE_URL to a reachable server',
        { cause: error },
      );
    case '28P01':
    case '28000':
      return new DatabaseUnavailableError(
        `Postgres at ${where} refused the credentials in DATABASE_URL`,
        'fix the user or password in DATABASE_URL',
        { cause: error },
      );
    case '3D000':
      return new DatabaseUnavailableError(
        `database in DATABASE_URL does not exist on ${where}`,
        'create it or let the gateway create it (needs CREATEDB)',
        { cause: error },
      );
    default:
      return new DatabaseUnavailableError(
        `cannot connect to Postgres at ${where}: ${(error as Error).message || String(code ?? 'unknown error')}`,
        'check DATABASE_URL and that Postgres accepts connections',
        { cause: error },
      );
  }
}
