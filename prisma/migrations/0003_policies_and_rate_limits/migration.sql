-- Per-tenant authorization policies and the deployment's rate-limit document.
CREATE TABLE "tenant_policies" (
    "tenant_id"  TEXT NOT NULL,
    "document"   JSONB NOT NULL,
    "version"    INTEGER NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT NOT NULL,
    CONSTRAINT "tenant_policies_pkey" PRIMARY KEY ("tenant_id"),
    CONSTRAINT "tenant_policies_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("tenant_id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE "rate_limit_config" (
    "id"         INTEGER NOT NULL DEFAULT 1,
    "document"   JSONB NOT NULL,
    "version"    INTEGER NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" TEXT NOT NULL,
    CONSTRAINT "rate_limit_config_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "rate_limit_config_singleton" CHECK ("id" = 1)
);
