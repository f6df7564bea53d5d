-- The audit trail: records in per-tenant hash chains, the chain heads, and retention anchors.
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
    CONSTRAINT "audit_records_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "audit_records_chain_key_seq_key" ON "audit_records"("chain_key", "seq");
CREATE INDEX "audit_records_timestamp_id_idx" ON "audit_records"("timestamp" DESC, "id" DESC);
CREATE INDEX "audit_records_tenant_id_timestamp_id_idx" ON "audit_records"("tenant_id", "timestamp" DESC, "id" DESC);
CREATE INDEX "audit_records_actor_id_timestamp_idx" ON "audit_records"("actor_id", "timestamp" DESC);
CREATE INDEX "audit_records_subject_timestamp_idx" ON "audit_records"("subject", "timestamp" DESC);
CREATE INDEX "audit_records_action_timestamp_idx" ON "audit_records"("action", "timestamp" DESC);

CREATE TABLE "audit_chain_heads" (
    "chain_key" TEXT NOT NULL,
    "seq"       BIGINT NOT NULL,
    "hash"      TEXT NOT NULL,
    CONSTRAINT "audit_chain_heads_pkey" PRIMARY KEY ("chain_key")
);

CREATE TABLE "audit_chain_anchors" (
    "chain_key" TEXT NOT NULL,
    "seq"       BIGINT NOT NULL,
    "hash"      TEXT NOT NULL,
    "purged_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_chain_anchors_pkey" PRIMARY KEY ("chain_key")
);
