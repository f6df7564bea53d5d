/**
 * The wire protocol of agent-gateway: event maps, payload schemas and types, error codes and
 * disconnect reasons. The gateway, the SDK and the tests all import them from here.
 */
export * from './cursor.js';
export * from './disconnect-reasons.js';
export * from './errors.js';
export * from './events.js';
export * from './http.js';
export * from './identifiers.js';
export * from './payloads.js';
export * from './trace-context.js';
export * from './websocket.js';
export * from './json-depth.js';
export * from './clock.js';
