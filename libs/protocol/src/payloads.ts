import * as z from 'zod';
import { messageMetadataSchema } from './trace-context.js';
import { AGENT_ID_PATTERN, CAPABILITY_PATTERN, CONVERSATION_ID_PATTERN, TOPIC_PATTERN } from './identifiers.js';

/*
 * Client→server payloads (contract §3). Every object is strict: an unknown field is refused with
 * INVALID_MESSAGE rather than silently ignored, so a client that believes it sets a field the gateway
 * does not know (a `from_agent_id`, say) learns at once that it does not.
 */

const agentId = z.string().regex(AGENT_ID_PATTERN, { error: 'must be an agent id matching ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });
const conversationId = z
  .string()
  .regex(CONVERSATION_ID_PATTERN, { error: 'must be a conversation id matching ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });
const topic = z.string().regex(TOPIC_PATTERN, { error: 'must be a topic name matching ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$' });

/** Free-form metadata: a JSON object. */
export const metadataSchema = z.record(z.string(), z.unknown());

/** A part of a message's content: `{ type: "text", text }` or `{ type: "data", data }`. */
export const contentPartSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({ type: z.literal('data'), data: z.unknown() }),
]);

/** `content`: a non-empty array of parts, at most 256 of them. */
export const contentSchema = z.array(contentPartSchema).min(1).max(256);

/** The longest `timeout_ms` a client may ask for on `send` (one hour). */
export const MAX_RESULT_TIMEOUT_MS = 3_600_000;

/** `send`: a direct message to one agent. */
export const sendPayloadSchema = z.strictObject({
  to_agent_id: agentId,
  conversation_id: conversationId.optional(),
  content: contentSchema,
  metadata: messageMetadataSchema.optional(),
  expect_result: z.boolean().optional(),
  timeout_ms: z.number().int().min(1).max(MAX_RESULT_TIMEOUT_MS).optional(),
});

/** `POST /gateway/send` body: the `send` payload plus the optional, self-only `from_agent_id`. */
export const httpSendBodySchema = sendPayloadSchema
  .omit({ expect_result: true, timeout_ms: true })
  .extend({ from_agent_id: agentId.optional() });

/** `result`: the answer to the last message of a conversation. */
export const resultPayloadSchema = z.strictObject({
  conversation_id: conversationId,
  success: z.boolean(),
  result: z.unknown().optional(),
  error: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  metadata: messageMetadataSchema.optional(),
});

/** `heartbeat`: optional client clock, echoed back as the server's. */
export const heartbeatPayloadSchema = z.strictObject({ timestamp: z.string().max(64).optional() });

/** `ping`: an empty object. */
export const pingPayloadSchema = z.strictObject({});

/** `subscribe` / `unsubscribe`. */
export const topicPayloadSchema = z.strictObject({ topic });

/** `publish`: a message to every subscriber of a topic. */
export const publishPayloadSchema = z.strictObject({
  topic,
  content: contentSchema,
  metadata: messageMetadataSchema.optional(),
});

/** `update_card`: change what the directory shows about the calling agent. */
export const updateCardPayloadSchema = z
  .strictObject({
    agent_name: z.string().min(1).max(128).optional(),
    capabilities: z
      .array(z.string().regex(CAPABILITY_PATTERN, { error: 'must be a capability matching ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$' }))
      .max(64)
      .optional(),
    metadata: metadataSchema.optional(),
  })
  .refine((p) => p.agent_name !== undefined || p.capabilities !== undefined || p.metadata !== undefined, {
    error: 'at least one of agent_name, capabilities, metadata is required',
  });

/** `refresh`: swap in a new credential of the same agent. */
export const refreshPayloadSchema = z.strictObject({ token: z.string().min(1).max(16_384) });

/** One content part. */
export type ContentPart = z.infer<typeof contentPartSchema>;
/** `send` payload. */
export type SendPayload = z.infer<typeof sendPayloadSchema>;
/** `POST /gateway/send` body. */
export type HttpSendBody = z.infer<typeof httpSendBodySchema>;
/** `result` payload. */
export type ResultPayload = z.infer<typeof resultPayloadSchema>;
/** `heartbeat` payload. */
export type HeartbeatPayload = z.infer<typeof heartbeatPayloadSchema>;
/** `ping` payload. */
export type PingPayload = z.infer<typeof pingPayloadSchema>;
/** `subscribe` / `unsubscribe` payload. */
export type TopicPayload = z.infer<typeof topicPayloadSchema>;
/** `publish` payload. */
export type PublishPayload = z.infer<typeof publishPayloadSchema>;
/** `update_card` payload. */
export type UpdateCardPayload = z.infer<typeof updateCardPayloadSchema>;
/** `refresh` payload. */
export type RefreshPayload = z.infer<typeof refreshPayloadSchema>;

/** The validator of each client→server event, by event name. */
export const CLIENT_PAYLOAD_SCHEMAS = {
  send: sendPayloadSchema,
  result: resultPayloadSchema,
  heartbeat: heartbeatPayloadSchema,
  ping: pingPayloadSchema,
  subscribe: topicPayloadSchema,
  unsubscribe: topicPayloadSchema,
  publish: publishPayloadSchema,
  update_card: updateCardPayloadSchema,
  refresh: refreshPayloadSchema,
} as const;

/** The names of the client→server events. */
export type ClientEventName = keyof typeof CLIENT_PAYLOAD_SCHEMAS;

/** The payload type of each client→server event. */
export type ClientPayloads = { [E in ClientEventName]: z.infer<(typeof CLIENT_PAYLOAD_SCHEMAS)[E]> };

/** True when `name` is a client→server event the protocol defines. */
export function isClientEventName(name: unknown): name is ClientEventName {
  return typeof name === 'string' && Object.hasOwn(CLIENT_PAYLOAD_SCHEMAS, name);
}

/**
 * Turns a schema failure into one readable sentence naming the offending field, for an
 * INVALID_MESSAGE. Only the first problem is reported; the rest usually follow from it.
 */
export function describeSchemaError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid payload';
  if (issue.code === 'unrecognized_keys') {
    const where = formatPath(issue.path);
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${where ? ` in ${where}` : ''}`;
  }
  const where = formatPath(issue.path);
  const message = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined') && where) return `${where}: is required`;
  return where ? `${where}: ${message}` : message;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/**
 * The card fields an agent may state when it connects (socket.io `auth`, plain WebSocket query):
 * for a registered agent, `capabilities` may only narrow the registered ones.
 */
export const handshakeCardSchema = z.object({
  agent_name: z.string().min(1).max(128).optional(),
  capabilities: z
    .array(z.string().regex(CAPABILITY_PATTERN, { error: 'must be a capability matching ^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$' }))
    .max(64)
    .optional(),
});

/** The card fields of a handshake. */
export type HandshakeCard = z.infer<typeof handshakeCardSchema>;
