-- Tenants, agents and API tokens.
CREATE TYPE "agent_status" AS ENUM ('enabled', 'disabled');

CREATE TABLE "tenants" (
    "tenant_id"  TEXT NOT NULL,
    "name"       TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tenants_pkey" PRIMARY KEY ("tenant_id")
);

CREATE TABLE "agents" (
    "agent_id"     TEXT NOT NULL,
    "tenant_id"    TEXT NOT NULL,
    "agent_name"   TEXT NOT NULL,
    "capabilities" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "description"  TEXT,
    "metadata"     JSONB NOT NULL DEFAULT '{}',
    "status"       "agent_status" NOT NULL DEFAULT 'enabled',
    "created_at"   TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at"   TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "agents_pkey" PRIMARY KEY ("agent_id"),
    CONSTRAINT "agents_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("tenant_id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "agents_tenant_id_status_idx" ON "agents"("tenant_id", "status");

CREATE TABLE "api_tokens" (
    "token_id"     UUID NOT NULL DEFAULT gen_random_uuid(),
    "agent_id"     TEXT NOT NULL,
    "token_hash"   TEXT NOT NULL,
    "hint"         TEXT NOT NULL,
    "created_at"   TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at"   TIMESTAMPTZ(3),
    "revoked_at"   TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("token_id"),
    CONSTRAINT "api_tokens_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("agent_id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");
CREATE INDEX "api_tokens_agent_id_idx" ON "api_tokens"("agent_id");
