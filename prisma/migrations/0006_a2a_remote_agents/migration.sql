-- Remote A2A agents (issue 13, outbound): an agent registered with `a2a_url` is reached by the
-- gateway over A2A instead of over a connection. Its optional credential is stored only sealed
-- (AES-256-GCM under a key derived from SECRETS_KEY, libs/secrets): the ciphertext, the id of the
-- key that sealed it (for rotation, and for a clear error when SECRETS_KEY changed), and its type
-- (`bearer` or `header`), which is all the admin API shows of it.
ALTER TABLE "agents" ADD COLUMN "a2a_url" TEXT;
ALTER TABLE "agents" ADD COLUMN "a2a_credential_type" TEXT;
ALTER TABLE "agents" ADD COLUMN "a2a_credential_ciphertext" TEXT;
ALTER TABLE "agents" ADD COLUMN "a2a_credential_key_id" TEXT;
ALTER TABLE "agents" ADD CONSTRAINT "agents_a2a_url_length" CHECK ("a2a_url" IS NULL OR char_length("a2a_url") BETWEEN 8 AND 2048);
ALTER TABLE "agents" ADD CONSTRAINT "agents_a2a_credential_type" CHECK ("a2a_credential_type" IS NULL OR "a2a_credential_type" IN ('bearer', 'header'));
-- A credential is complete (type, ciphertext and key id together) and belongs to a remote agent.
ALTER TABLE "agents" ADD CONSTRAINT "agents_a2a_credential_complete" CHECK (
  ("a2a_credential_type" IS NULL AND "a2a_credential_ciphertext" IS NULL AND "a2a_credential_key_id" IS NULL)
  OR ("a2a_credential_type" IS NOT NULL AND "a2a_credential_ciphertext" IS NOT NULL AND "a2a_credential_key_id" IS NOT NULL AND "a2a_url" IS NOT NULL)
);
-- The directory lists a tenant's remote agents beside its connected ones.
CREATE INDEX "agents_remote_idx" ON "agents" ("tenant_id") WHERE "a2a_url" IS NOT NULL;
