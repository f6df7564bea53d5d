/** Process plumbing shared by the deployable apps: the root module, the HTTP error mapping, the logger. */
export { ProcessModule, sharedStateOf } from './process.module.js';
export type { SharedState } from './process.module.js';
export { HttpErrorFilter } from './http-error.filter.js';
export { GatewayLogger } from './gateway.logger.js';
export { StartupError, bind, describeStartupError, listen, preflight } from './launch.js';
export { TracingShutdown, startProcessTracing } from './telemetry.js';
