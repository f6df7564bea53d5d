import { once } from 'node:events';
import { ApiRoute } from './openapi.js';
import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AuditQueryService, VerifyAuditChains, type AuditFilter, type ChainedAuditRecord, type VerifyReport } from '#libs/audit';
import { AdminAccess, Roles } from './admin-access.js';
import { CurrentAdmin } from './admin-auth.guard.js';
import type { AdminPrincipal } from './admin-principal.js';
import {
  auditExportQuerySchema,
  auditListQuerySchema,
  auditVerifyQuerySchema,
  type AuditExportQueryDto,
  type AuditListQueryDto,
  type AuditVerifyQueryDto,
} from './admin.schemas.js';

const CSV_COLUMNS = [
  'id',
  'timestamp',
  'tenant_id',
  'action',
  'actor_type',
  'actor_id',
  'subject',
  'outcome',
  'reason',
  'session_id',
  'remote_addr',
  'node_id',
  'seq',
  'prev_hash',
  'hash',
  'details',
] as const;

/**
 * `/admin/v1/audit`: the audit trail, newest first, filtered by tenant, agent (as actor or
 * subject), action and time; a streamed export in NDJSON or CSV; and the chain check, in bounded
 * calls that resume with a cursor. An admin bound to a tenant sees that tenant's records only.
 */
@Controller('admin/v1/audit')
@Roles('auditor')
export class AuditController {
  constructor(
    private readonly audit: AuditQueryService,
    private readonly verifier: VerifyAuditChains,
    private readonly access: AdminAccess,
  ) {}

  @Get()
  @ApiRoute({ summary: 'Audit records, newest first', query: auditListQuerySchema, response: 'auditRecord', page: true })
  list(@Query({ schema: auditListQuerySchema }) query: AuditListQueryDto, @CurrentAdmin() admin: AdminPrincipal) {
    return this.audit.page(this.scoped(filterOf(query), admin), query.limit, query.cursor);
  }

  /** Streamed in chunks with backpressure: the heap does not grow with the number of rows. */
  @Get('export')
  @ApiRoute({ summary: 'Export audit records (NDJSON or CSV), streamed', query: auditExportQuerySchema, response: 'stream' })
  async export(
    @Query({ schema: auditExportQuerySchema }) query: AuditExportQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
    @Res() res: Response,
  ): Promise<void> {
    const filter = this.scoped(filterOf(query), admin);
    const csv = query.format === 'csv';
    res.status(200);
    res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit.${csv ? 'csv' : 'ndjson'}"`);
    if (csv) res.write(`${CSV_COLUMNS.join(',')}\n`);
    let lines: string[] = [];
    const send = async (): Promise<void> => {
      if (lines.length === 0) return;
      const chunk = lines.join('');
      lines = [];
      if (!res.write(chunk)) await once(res, 'drain');
    };
    for await (const record of this.audit.stream(filter)) {
      if (res.destroyed) return;
      lines.push(csv ? csvLine(record) : `${JSON.stringify(record)}\n`);
      if (lines.length >= 500) await send();
    }
    await send();
    res.end();
  }

  /** Bounded: at most `limit` records and a few seconds per call; `next_cursor` resumes the walk. */
  @Get('verify')
  @ApiRoute({ summary: 'Check the hash chains (bounded; resume with next_cursor)', query: auditVerifyQuerySchema, response: 'verify' })
  verify(
    @Query({ schema: auditVerifyQuerySchema }) query: AuditVerifyQueryDto,
    @CurrentAdmin() admin: AdminPrincipal,
  ): Promise<VerifyReport> {
    if (query.tenant_id !== undefined) this.access.tenant(admin, query.tenant_id);
    return this.verifier.execute({ tenantId: admin.tenantId ?? query.tenant_id, limit: query.limit, cursor: query.cursor });
  }

  /** A tenant-bound admin reads its own tenant only (without a tenant filter, it is set to it). */
  private scoped(filter: AuditFilter, admin: AdminPrincipal): AuditFilter {
    if (admin.tenantId === null) return filter;
    if (filter.tenantId !== undefined) this.access.tenant(admin, filter.tenantId);
    return { ...filter, tenantId: admin.tenantId };
  }
}

function filterOf(query: AuditListQueryDto | AuditExportQueryDto): AuditFilter {
  return {
    ...(query.tenant_id !== undefined && { tenantId: query.tenant_id }),
    ...(query.agent_id !== undefined && { agentId: query.agent_id }),
    ...(query.action !== undefined && { action: query.action }),
    ...(query.since !== undefined && { since: new Date(query.since) }),
    ...(query.until !== undefined && { until: new Date(query.until) }),
  };
}

function csvLine(record: ChainedAuditRecord): string {
  const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    id: record.id,
    timestamp: record.timestamp,
    tenant_id: record.tenant_id,
    action: record.action,
    actor_type: record.actor.type,
    actor_id: record.actor.id,
    subject: record.subject,
    outcome: record.outcome,
    reason: record.reason,
    session_id: record.session_id,
    remote_addr: record.remote_addr,
    node_id: record.node_id,
    seq: record.seq,
    prev_hash: record.prev_hash,
    hash: record.hash,
    details: JSON.stringify(record.details),
  };
  return `${CSV_COLUMNS.map((c) => csvField(values[c])).join(',')}\n`;
}

/**
 * RFC 4180 quoting. A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
 * carriage return first) gets a leading `'` (OWASP CSV injection); numbers are written as they are.
 */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const raw = typeof value === 'string' ? value : JSON.stringify(value);
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
