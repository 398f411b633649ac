/**
 * Deployment profiles (docs/contract.md §3): each gives the default query budget and default field action a policy
 * starts from. Budgets merge profile → `defaults.budget` → model `budget`, so a policy only states what it
 * changes. Every profile denies unlisted fields: a forgotten column must never leak because of a profile.
 *
 * `maxResultRows` lets two levels of to-many includes run at the default page and include limits
 * (51 × 20 + 51 × 20 × 20 = 21,420 included rows under PROD): the shipped policies' Customer → orders → items.
 *
 * `maxResultBytes` bounds what those rows weigh (docs/decisions.md, "Result bytes"): PROD's 8 MiB holds a full
 * page of 100 rows of 80 KB each, or those 21,420 included rows at ~390 bytes each, while a handful of
 * concurrent calls at the limit (each value is held as text, parsed, then shaped: ~3-4× in the heap) stays far
 * below a Node heap. INTERNAL and DEV trade memory for reach, as their other budgets do.
 */
import type { FieldAction, Profile } from './policy-schema.ts'
import type { Budget, WritePolicy } from './types.ts'

const MiB = 1_048_576

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
      maxResultBytes: 8 * MiB,
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
      maxResultBytes: 32 * MiB,
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
      maxResultBytes: 64 * MiB,
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
