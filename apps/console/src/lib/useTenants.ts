import { api, type Page } from './api';
import type { Tenant } from './types';
import { usePoll } from './usePoll';

/** The tenants this admin may see (a tenant-bound admin: its own), for pickers. */
export function useTenants() {
  return usePoll(async () => (await api<Page<Tenant>>('GET', '/admin/v1/tenants?limit=500')).items, null, []);
}
