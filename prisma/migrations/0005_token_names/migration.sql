-- API tokens get an optional name an operator chooses ("ci-deploy", "laptop of J. Doe"), shown in
-- lists and audit records; the token itself is never stored. The admin API and the CLI validate it
-- (1–128 printable characters, see docs/security.md); the check here is the last line of defence.
ALTER TABLE "api_tokens" ADD COLUMN "name" TEXT;
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_name_length" CHECK ("name" IS NULL OR char_length("name") BETWEEN 1 AND 128);
