/** Per-tenant authorization policy (contract §7.1): documents, the compiler and the cached decision service. */
export { PolicyModule } from './policy.module.js';
export { PolicyService } from './policy.service.js';
export type { PolicyView, SendVerdict } from './policy.service.js';
export { compileGlob, compilePolicy, denyAll, fromRules } from './policy.compiler.js';
export type { CompiledPolicy, PolicyDecision, PolicyRequest, PolicySubject } from './policy.compiler.js';
export { DEFAULT_POLICY, POLICY_ACTIONS, PolicyDocumentError, parsePolicyDocument, policyDocumentSchema } from './policy.document.js';
export type { PolicyAction, PolicyDocument, PolicyRule, PolicySelector } from './policy.document.js';
