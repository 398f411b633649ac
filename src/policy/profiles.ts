/**
 * Deployment profiles (docs/contract.md §3): each gives the default query budget and default field action a policy
 * starts from. Budgets merge profile → `defaults.budget` → model `budget`, so a policy only states what it
 * changes. Every profile denies unlisted fields: a forgotten column must never leak because of a profile.
 *
 * `maxResultRows` lets two levels of to-many includes run at the default page and include limits
 * (51 × 20 + 51 × 20 × 20 = 21,420 included rows under PROD): the shipped policies' Customer → orders → items.
 */
import type { FieldAction, Profile } from './policy-schema.ts'
import type { Budget, WritePolicy } from './types.ts'

export interface ProfileDefaults {
  readonly budget: Budget
  readonly fieldAction: FieldAction
}

export const DEFAULT_PROFILE: Profile = 'PROD'

export const profiles: Readonly<Record<Profile, ProfileDefaults>> = Object.freeze({
  PROD: Object.freeze({
    fieldAction: 'deny',
    budget: Object.freeze({
      maxRows: 100,
      maxIncludeDepth: 2,
      maxSelectFields: 40,
      statementTimeoutMs: 5_000,
      maxComplexity: 100,
      broadQueryGuard: true,
      broadQueryThreshold: 10_000,
      maxInItems: 1_000,
      maxFilters: 50,
      maxEstimatedCost: 1e6,
      maxResultRows: 25_000,
      maxConcurrentPerTenant: 8,
    }),
  }),
  INTERNAL: Object.freeze({
    fieldAction: 'deny',
    budget: Object.freeze({
      maxRows: 1_000,
      maxIncludeDepth: 3,
      maxSelectFields: 100,
      statementTimeoutMs: 15_000,
      maxComplexity: 300,
      broadQueryGuard: true,
      broadQueryThreshold: 100_000,
      maxInItems: 1_000,
      maxFilters: 100,
      maxEstimatedCost: 1e7,
      maxResultRows: 250_000,
      maxConcurrentPerTenant: 16,
    }),
  }),
  DEV: Object.freeze({
    fieldAction: 'deny',
    budget: Object.freeze({
      maxRows: 1_000,
      maxIncludeDepth: 4,
      maxSelectFields: 200,
      statementTimeoutMs: 30_000,
      maxComplexity: 1_000,
      broadQueryGuard: false,
      broadQueryThreshold: 1_000_000,
      maxInItems: 5_000,
      maxFilters: 200,
      maxEstimatedCost: 1e8,
      maxResultRows: 500_000,
      maxConcurrentPerTenant: 32,
    }),
  }),
})

/**
 * Write defaults for every profile: nothing is writable until the policy says so. `maxAffectedRows` is the
 * per-call default; the bulk hard cap lives with the write tools.
 */
export const DEFAULT_WRITE_POLICY: WritePolicy = Object.freeze({
  create: 'deny',
  update: 'deny',
  delete: 'deny',
  autoSet: Object.freeze({}),
  immutableFields: Object.freeze([]),
  requiredFields: Object.freeze([]),
  requireReason: false,
  reasonMinCharacters: 3,
  maxAffectedRows: 25,
  softDelete: null,
  allowHardDelete: false,
})
