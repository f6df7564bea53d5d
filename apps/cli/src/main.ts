import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { loadConfig, readVersion } from '#libs/config';
import { AgentService, CredentialService, TenantService } from '#libs/identity';
import { migrateDatabase } from '#libs/persistence';
import { describeStartupError } from '#libs/platform';
import { GatewayError } from '#libs/protocol';
import { CliModule } from './cli.module.js';

const USAGE = `agent-gateway operator CLI (talks to Postgres directly; use it to bootstrap before SSO is set up)

  tenant create <tenant_id> [--name NAME]
  agent create <agent_id> --tenant TENANT [--name NAME] [--capabilities a,b] [--description TEXT] [--if-missing]
  token create <agent_id> [--name NAME] [--expires-in-s SECONDS]

Configuration comes from the same environment as the gateway (DATABASE_URL). Output is JSON.`;

async function run(argv: string[]): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tenant: { type: 'string' },
      capabilities: { type: 'string' },
      description: { type: 'string' },
      'if-missing': { type: 'boolean' },
      'expires-in-s': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [resource, verb, id] = positionals;
  if (values.help || !resource || !verb || !id) throw new UsageError();

  const config = loadConfig(process.env, readVersion());
  await migrateDatabase(config.databaseUrl);
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  try {
    const tenants = app.get(TenantService);
    const agents = app.get(AgentService);
    const credentials = app.get(CredentialService);
    switch (`${resource} ${verb}`) {
      case 'tenant create': {
        const tenant = await tenants.ensure(id, values.name ?? id, CLI_ACTOR);
        return { tenant_id: tenant.id, name: tenant.name };
      }
      case 'agent create': {
        if (!values.tenant) throw new UsageError('--tenant is required');
        const existing = await agents.find(id);
        if (existing) {
          if (!values['if-missing']) throw new GatewayError('CONFLICT', `agent "${id}" already exists`);
          return { agent_id: existing.id, tenant_id: existing.tenantId, created: false };
        }
        await tenants.ensure(values.tenant, values.tenant, CLI_ACTOR);
        const agent = await agents.register(
          {
            id,
            tenantId: values.tenant,
            name: values.name ?? id,
            capabilities: values.capabilities
              ? values.capabilities
                  .split(',')
                  .map((c) => c.trim())
                  .filter(Boolean)
              : [],
            description: values.description ?? null,
            metadata: {},
          },
          CLI_ACTOR,
        );
        return { agent_id: agent.id, tenant_id: agent.tenantId, created: true };
      }
      case 'token create': {
        const seconds = values['expires-in-s'] === undefined ? null : Number(values['expires-in-s']);
        if (seconds !== null && !(Number.isInteger(seconds) && seconds > 0))
          throw new UsageError('--expires-in-s must be a positive integer');
        const expiresAt = seconds === null ? null : new Date(Date.now() + seconds * 1000);
        return (await credentials.issueToken(id, { name: values.name ?? null, expiresAt }, CLI_ACTOR)).issued;
      }
      default:
        throw new UsageError(`unknown command "${resource} ${verb}"`);
    }
  } finally {
    await app.close();
  }
}

class UsageError extends Error {}

/** The CLI in audit records: an admin acting from a host with database access. */
const CLI_ACTOR = { type: 'admin' as const, id: `cli:${userInfo().username}` };

run(process.argv.slice(2)).then(
  (output) => {
    process.stdout.write(`${JSON.stringify(output)}\n`);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `${error.message}\n\n` : ''}${USAGE}\n`);
      process.exit(2);
    }
    const line =
      error instanceof GatewayError ? `agent-gateway: ${error.code}: ${error.message}` : describeStartupError(error, process.env);
    process.stderr.write(`${line}\n`);
    process.exit(1);
  },
);
