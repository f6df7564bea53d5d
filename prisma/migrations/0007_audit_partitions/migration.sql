-- The audit trail in monthly partitions (declarative, RANGE on "timestamp", UTC month boundaries).
-- Retention then drops whole partitions instead of deleting rows, and the writer creates the
-- partitions ahead (AUDIT_PARTITION_PERIOD, AUDIT_PARTITIONS_AHEAD). Every existing row is copied
-- into the new table, unchanged (its hash chain included), in this migration's one transaction.
--
-- A unique constraint of a partitioned table must contain the partition key, so the primary key is
-- (id, "timestamp") and the chain position (chain_key, seq, "timestamp"). A record's id and
-- timestamp are both fixed by its producer and travel together in its queue job, so a retried
-- record still collides with the row its first commit wrote (see AuditRepository.writeBatch); a
-- chain's seq is handed out under the row lock of its head, one writer at a time.

-- The old table's constraint and index names are taken back for the new table.
ALTER TABLE "audit_records" RENAME TO "audit_records_0004";
ALTER TABLE "audit_records_0004" DROP CONSTRAINT "audit_records_pkey";
DROP INDEX "audit_records_chain_key_seq_key";
DROP INDEX "audit_records_timestamp_id_idx";
DROP INDEX "audit_records_tenant_id_timestamp_id_idx";
DROP INDEX "audit_records_actor_id_timestamp_idx";
DROP INDEX "audit_records_subject_timestamp_idx";
DROP INDEX "audit_records_action_timestamp_idx";

CREATE TABLE "audit_records" (
    "id"             UUID NOT NULL,
    "seq"            BIGINT NOT NULL,
    "chain_key"      TEXT NOT NULL,
    "tenant_id"      TEXT,
    "timestamp"      TIMESTAMPTZ(3) NOT NULL,
    "action"         TEXT NOT NULL,
    "actor_type"     TEXT NOT NULL,
    "actor_id"       TEXT NOT NULL,
    "subject"        TEXT,
    "outcome"        TEXT NOT NULL,
    "reason"         TEXT,
    "session_id"     TEXT,
    "remote_addr"    TEXT,
    "node_id"        TEXT NOT NULL,
    "details"        JSONB NOT NULL,
    "prev_hash"      TEXT NOT NULL,
    "hash"           TEXT NOT NULL,
    "written_at"     TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT "audit_records_pkey" PRIMARY KEY ("id", "timestamp")
) PARTITION BY RANGE ("timestamp");
CREATE UNIQUE INDEX "audit_records_chain_key_seq_key" ON "audit_records"("chain_key", "seq", "timestamp");
CREATE INDEX "audit_records_timestamp_id_idx" ON "audit_records"("timestamp" DESC, "id" DESC);
CREATE INDEX "audit_records_tenant_id_timestamp_id_idx" ON "audit_records"("tenant_id", "timestamp" DESC, "id" DESC);
CREATE INDEX "audit_records_actor_id_timestamp_idx" ON "audit_records"("actor_id", "timestamp" DESC);
CREATE INDEX "audit_records_subject_timestamp_idx" ON "audit_records"("subject", "timestamp" DESC);
CREATE INDEX "audit_records_action_timestamp_idx" ON "audit_records"("action", "timestamp" DESC);

-- Whatever no partition covers (a clock far off, a record older than the oldest partition) lands
-- here: an insert never fails for want of a partition. Normally empty; see docs/operations.md.
CREATE TABLE "audit_records_default" PARTITION OF "audit_records" DEFAULT;

-- One partition per month holding existing rows, and from the current month three months ahead
-- (the writer keeps that window moving). Named after their first day: audit_records_pYYYYMMDD.
DO $$
DECLARE
  first_month timestamptz;
  last_month timestamptz := date_trunc('month', now(), 'UTC') + interval '3 months';
  m timestamptz;
BEGIN
  SELECT least(date_trunc('month', min("timestamp"), 'UTC'), date_trunc('month', now(), 'UTC')) INTO first_month FROM "audit_records_0004";
  first_month := coalesce(first_month, date_trunc('month', now(), 'UTC'));
  m := first_month;
  WHILE m <= last_month LOOP
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF "audit_records" FOR VALUES FROM (%L) TO (%L)',
      'audit_records_p' || to_char(m AT TIME ZONE 'UTC', 'YYYYMMDD'),
      m,
      m + interval '1 month'
    );
    m := m + interval '1 month';
  END LOOP;
END $$;

INSERT INTO "audit_records" (id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id, remote_addr, node_id, details, prev_hash, hash, written_at)
SELECT id, seq, chain_key, tenant_id, "timestamp", action, actor_type, actor_id, subject, outcome, reason, session_id, remote_addr, node_id, details, prev_hash, hash, written_at
FROM "audit_records_0004";

DROP TABLE "audit_records_0004";
