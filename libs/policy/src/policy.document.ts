import * as z from 'zod';

/** The actions a policy governs (contract §7.1); `send` also covers `result` on the same conversation. */
export const POLICY_ACTIONS = ['send', 'publish', 'subscribe'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The longest selector value: a topic name (200 characters) with a few stars. */
export const MAX_GLOB_LENGTH = 256;
/** Most `*` in one selector value. */
export const MAX_GLOB_STARS = 16;
/** Most selector values with a `*` in one document: bounds the work of one decision. */
export const MAX_GLOBS_PER_DOCUMENT = 1000;
/** Most rules in one document. */
export const MAX_RULES = 1000;

const glob = z
  .string()
  .min(1)
  .max(MAX_GLOB_LENGTH, { error: `must be at most ${MAX_GLOB_LENGTH} characters` })
  .regex(/^[A-Za-z0-9._:/*-]+$/, { error: 'must be a name or a glob of letters, digits, ".", "_", ":", "/", "-" and "*"' })
  .refine((v) => countStars(v) <= MAX_GLOB_STARS, { error: `must have at most ${MAX_GLOB_STARS} "*"` });

function countStars(value: string): number {
  let stars = 0;
  for (let i = value.indexOf('*'); i >= 0; i = value.indexOf('*', i + 1)) stars++;
  return stars;
}

const selector = z.strictObject({
  agent_id: glob.optional(),
  capability: glob.optional(),
  topic: glob.optional(),
  tenant_id: glob.optional(),
});

const rule = z.strictObject({
  effect: z.enum(['allow', 'deny']),
  actions: z.array(z.enum(POLICY_ACTIONS)).min(1).max(3),
  from: selector.optional(),
  to: selector.optional(),
  description: z.string().max(500).optional(),
});

/** A tenant's policy document, as stored and as the admin API takes it. */
export const policyDocumentSchema = z.strictObject({
  rules: z.array(rule).max(MAX_RULES, { error: `must have at most ${MAX_RULES} rules` }),
});

export type PolicyDocument = z.infer<typeof policyDocumentSchema>;
export type PolicyRule = z.infer<typeof rule>;
export type PolicySelector = z.infer<typeof selector>;

/** The policy of a tenant that has none: everything, within the tenant (contract §7.1). */
export const DEFAULT_POLICY: PolicyDocument = { rules: [{ effect: 'allow', actions: ['send', 'publish', 'subscribe'], from: {}, to: {} }] };

/** A policy document that failed validation: `problem` names the faulty rule and field. */
export class PolicyDocumentError extends Error {
  override readonly name = 'PolicyDocumentError';
}

/**
 * Validates a policy document: the schema first, then rules that could never match what they
 * name (a `to.topic` on a `send`-only rule, a `from.topic`…). Throws {@link PolicyDocumentError}
 * with a message like `rules[2].to.topic: applies to publish and subscribe, not send`.
 */
export function parsePolicyDocument(input: unknown): PolicyDocument {
  const parsed = policyDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) throw new PolicyDocumentError('invalid policy document');
    const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message.endsWith('received undefined')
          ? 'is required'
          : issue.message.replace(/^Invalid input: /, '');
    throw new PolicyDocumentError(path ? `${path}: ${message}` : message);
  }
  let globs = 0;
  parsed.data.rules.forEach((r, i) => {
    const at = `rules[${i}]`;
    for (const selector of [r.from, r.to]) {
      for (const value of Object.values(selector ?? {})) if (value.includes('*')) globs++;
    }
    if (globs > MAX_GLOBS_PER_DOCUMENT)
      throw new PolicyDocumentError(`${at}: a document may hold at most ${MAX_GLOBS_PER_DOCUMENT} selector values with "*"`);
    if (r.from?.topic !== undefined) throw new PolicyDocumentError(`${at}.from.topic: a topic belongs to the target; use to.topic`);
    const sends = r.actions.includes('send');
    const topics = r.actions.some((a) => a !== 'send');
    if (r.to?.topic !== undefined && sends)
      throw new PolicyDocumentError(`${at}.to.topic: applies to publish and subscribe, not send; put send in its own rule`);
    for (const field of ['agent_id', 'capability', 'tenant_id'] as const) {
      if (r.to?.[field] !== undefined && topics) {
        throw new PolicyDocumentError(
          `${at}.to.${field}: applies to send, not publish or subscribe (topics are per tenant); put send in its own rule`,
        );
      }
    }
  });
  return parsed.data;
}
