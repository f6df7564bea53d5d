/** The admin plane: admin REST API, metrics and health on the admin listener. */
export { AdminModule } from './admin.module.js';
export type { AdminPlaneOptions } from './admin.module.js';
export { configureAdminPlane } from './openapi.js';
