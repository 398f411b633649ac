/**
 * How tenant isolation is enforced (docs/contract.md §5): `app` — the planner's predicates in every statement; `rls` —
 * the database's row-level security policies generated from the same policy, with the principal's claims
 * set per transaction; `both` — the two at once (a disagreement is a bug the eval harness must catch). The
 * executor owns the mode because it is what decides whether a call sets claims and so needs a transaction.
 */
export const ENFORCEMENT_MODES = ['app', 'rls', 'both'] as const

export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number]
