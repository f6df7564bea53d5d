import { SetMetadata } from '@nestjs/common';

/** Metadata key of routes that need no credential. */
export const PUBLIC_ROUTE = 'agw:public-route';

/**
 * Marks a route that probes and scrapers reach without a credential (`/healthz`, `/readyz`,
 * `/metrics`); the admin listener's guard lets these through and guards everything else.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
