/** The session use cases: admission, lifecycle, cards, credential refresh, presence sweep, drain. */
export { SessionAdmission } from './session-admission.js';
export { SessionCapacity } from './session-capacity.js';
export { SessionCards } from './session-cards.js';
export { SessionDrain } from './session-drain.js';
export { SessionLifecycle } from './session-lifecycle.js';
export { SessionRefresh } from './session-refresh.js';
export { PresenceSweep } from './presence-sweep.js';
