-- Client certificate bindings and OIDC subject bindings.
CREATE TYPE "certificate_binding_kind" AS ENUM ('fingerprint', 'spiffe', 'cn');

CREATE TABLE "certificate_bindings" (
    "id"         UUID NOT NULL DEFAULT gen_random_uuid(),
    "agent_id"   TEXT NOT NULL,
    "kind"       "certificate_binding_kind" NOT NULL,
    "value"      TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "certificate_bindings_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "certificate_bindings_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("agent_id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "certificate_bindings_kind_value_key" ON "certificate_bindings"("kind", "value");
CREATE INDEX "certificate_bindings_agent_id_idx" ON "certificate_bindings"("agent_id");

CREATE TABLE "oidc_subjects" (
    "id"         UUID NOT NULL DEFAULT gen_random_uuid(),
    "agent_id"   TEXT NOT NULL,
    "issuer"     TEXT,
    "subject"    TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "oidc_subjects_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "oidc_subjects_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("agent_id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- One binding per (issuer, subject); a null issuer stands for OIDC_ISSUER.
CREATE UNIQUE INDEX "oidc_subjects_issuer_subject_key" ON "oidc_subjects"(COALESCE("issuer", ''), "subject");
CREATE INDEX "oidc_subjects_subject_idx" ON "oidc_subjects"("subject");
CREATE INDEX "oidc_subjects_agent_id_idx" ON "oidc_subjects"("agent_id");
