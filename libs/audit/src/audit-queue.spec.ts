import { describe, expect, it } from 'vitest';
import { batchJob, jobLines, jobRecords, type AuditBatchJob } from './audit-queue.js';
import { routedEvent } from '../../../test/support/audit-events.js';
import { recordLine, toRecord } from './audit-record.js';

const records = ['m1', 'm2'].map((id) => toRecord(routedEvent({ details: { message_id: id, note: 'two\nlines' } }), 'node-1', false));

describe('audit batch jobs', () => {
  it('carry record lines as one string, and give them back in order', () => {
    const lines = records.map(recordLine);
    const job = batchJob(lines);
    expect(typeof job.lines).toBe('string');
    expect(jobLines(JSON.parse(JSON.stringify(job)) as AuditBatchJob)).toEqual(lines);
    expect(jobRecords(job).map((r) => r.details.message_id)).toEqual(['m1', 'm2']);
    expect(jobLines(batchJob([]))).toEqual([]);
  });

  it('made before lines existed (record objects), give the same lines: an upgrade leaves no job unwritten', () => {
    const old = JSON.parse(JSON.stringify({ records })) as { records: typeof records };
    expect(jobLines(old)).toEqual(records.map(recordLine));
  });
});
