/**
 * The Policy file format (docs/contract.md §3) as a strict zod schema. Every object is `.strict()`: an unknown key is a
 * load error, never silently dropped (the OrmAI failure mode this project exists to avoid). YAML, JSON and
 * `definePolicy({...})` all go through this one schema; `policies/policy.schema.json` is generated from it.
 */
import { z } from 'zod'

export const FIELD_ACTIONS = ['allow', 'deny', 'mask', 'hash'] as const
export const WRITE_MODES = ['allow', 'deny', 'approval'] as const
export const PROFILES = ['PROD', 'INTERNAL', 'DEV'] as const
export const MASK_STYLES = ['auto', 'email', 'phone', 'partial', 'full'] as const

const identifier = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier (letters, digits, underscore)')

const modelName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier (letters, digits, underscore)')

/** `schema.table` or `table`. */
const tableName = z
  .string()
  .min(1)
  .max(127)
  .regex(
    /^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/,
    // docs/decisions.md, "Names that need quoting": say why, so the user renames rather than retries quoting.
    'must be `table` or `schema.table`, each a plain identifier (letters, digits, underscore); ' +
      'names that need quoting (spaces, quotes, dots, other characters) are not supported',
  )

/** `principal.tenantId`, `principal.metadata.orgId`, ... (checked further by the policy validator). */
const principalPathText = z
  .string()
  .regex(/^principal(\.[A-Za-z_][A-Za-z0-9_]*)+$/, 'must be a principal path such as principal.tenantId')

export const fieldRuleSchema = z.union([
  z.enum(FIELD_ACTIONS),
  z
    .object({
      action: z.enum(FIELD_ACTIONS),
      /** Mask pattern with `{lastN}` / `{firstN}` placeholders, e.g. `****{last4}`. Only with `mask`. */
      pattern: z.string().min(1).max(200).optional(),
      /** Mask style when no pattern is given; `auto` picks email/phone/partial from the value's shape. */
      style: z.enum(MASK_STYLES).optional(),
      /**
       * Only with `mask` / `hash`: lets `data` set the field (default refused). The written value is never shown
       * back in clear — results go through the read field policy — and reaches the audit only masked or hashed.
       */
      writable: z.boolean().optional().meta({
        default: false,
        description:
          'Only with mask or hash: the field may be set in data; results and the audit show it masked/hashed.',
      }),
      /**
       * Free text written by end users (ticket bodies, comments): tool results hand it to agents inside a
       * delimited wrapper so that a client treats it as data, never as instructions.
       */
      untrusted: z.boolean().optional(),
      /**
       * The field may be written although a unique key that does not include the tenant column covers it: a
       * write that collides with another tenant's value answers differently from one that does not, so the
       * policy must say the value is not secret (e.g. a public slug). Default false: such a policy does not load.
       */
      acceptGlobalUnique: z.boolean().optional(),
    })
    .strict(),
])

export const budgetSchema = z
  .object({
    maxRows: z.number().int().positive().max(100_000).optional(),
    maxIncludeDepth: z.number().int().min(0).max(10).optional(),
    maxSelectFields: z.number().int().positive().max(1_000).optional(),
    statementTimeoutMs: z.number().int().positive().max(600_000).optional(),
    maxComplexity: z.number().int().positive().max(100_000).optional(),
    broadQueryGuard: z.boolean().optional(),
    /** Estimated table rows above which an unfiltered query is refused when the guard is on. */
    broadQueryThreshold: z.number().int().positive().optional(),
    maxInItems: z.number().int().positive().max(10_000).optional(),
    maxFilters: z.number().int().positive().max(1_000).optional(),
    /** Upper bound on the planner's EXPLAIN cost estimate, checked before executing (PGlite has no timeout). */
    maxEstimatedCost: z.number().positive().optional(),
    /**
     * Rows the includes of one statement may add: for every include, parent rows × the include's limit (a
     * to-one include counts one row per parent).
     */
    maxResultRows: z.number().int().positive().max(1_000_000).optional(),
    /**
     * Bytes one read (its rows with everything they include) or one write's returned rows may take, measured
     * in the text form the values leave the database in; a statement that would return more is refused before
     * the rows reach the process. At most 1 GiB, PostgreSQL's own limit for one value.
     */
    maxResultBytes: z.number().int().min(1_024).max(1_073_741_824).optional(),
    /**
     * Statements one tenant may have running at once (all models of the toolset together); one more is
     * RATE_LIMITED with a retry hint, so one tenant cannot hold the whole pool (or PGlite's one connection).
     */
    maxConcurrentPerTenant: z.number().int().positive().max(1_000).optional(),
  })
  .strict()

export const rowPolicySchema = z
  .object({
    name: identifier,
    condition: z.string().min(1).max(4_000),
    mode: z
      .enum(['permissive', 'restrictive'])
      .optional()
      .meta({
        default: 'restrictive',
        description:
          "Without mode a rule is restrictive: it can only narrow what scoping shows. Write mode: 'permissive' " +
          'to widen (rows visible when scoping OR this rule holds).',
      }),
    bypass: z.boolean().optional(),
    /**
     * A permissive rule on a scoped model that reaches other tenants' rows — a branch that does not pin a row
     * field to the principal (`is_public = true`), or a tenant column compared with a literal — is a load error
     * unless this says the widening is intended.
     */
    crossTenant: z
      .boolean()
      .optional()
      .meta({
        default: false,
        description:
          "Only with mode: 'permissive'. Acknowledges that the rule shows rows of other tenants (a branch that " +
          'does not pin a row field to the principal, or a tenant column compared with a literal).',
      }),
  })
  .strict()

export const relationSchema = z
  .object({
    model: modelName,
    /** The FK column(s) that link the two tables, when more than one foreign key could. */
    foreignKey: z.union([identifier, z.array(identifier).min(1)]).optional(),
  })
  .strict()

export const writePolicySchema = z
  .object({
    create: z.enum(WRITE_MODES).optional(),
    update: z.enum(WRITE_MODES).optional(),
    delete: z.enum(WRITE_MODES).optional(),
    /** column → `principal.<path>` or `now()`; set by the server, never accepted in `data`. */
    autoSet: z.record(identifier, z.union([principalPathText, z.literal('now()')])).optional(),
    immutableFields: z.array(identifier).optional(),
    requiredFields: z.array(identifier).optional(),
    requireReason: z.boolean().optional(),
    /** With requireReason: the fewest visible letters or digits a reason must have (default 3). */
    reasonMinCharacters: z.number().int().min(1).max(200).optional(),
    maxAffectedRows: z.number().int().positive().max(10_000).optional(),
    softDelete: z.object({ field: identifier }).strict().optional(),
    /** With softDelete: whether `hard: true` may remove rows. Default false. */
    allowHardDelete: z.boolean().optional(),
  })
  .strict()

export const modelPolicySchema = z
  .object({
    table: tableName,
    fields: z.record(identifier, fieldRuleSchema).optional(),
    defaultFieldAction: z.enum(FIELD_ACTIONS).optional(),
    scoping: z.record(identifier, principalPathText).optional(),
    shared: z.literal(true).optional(),
    /**
     * Tenant-like columns (`org_id`, `account_id`, ...) that deliberately do not partition this model's rows.
     * Without this explicit acknowledgement such a column that is neither scoped nor used by a permissive row
     * policy is a load error.
     */
    unscopedColumns: z.array(identifier).optional(),
    rowPolicies: z.array(rowPolicySchema).optional(),
    relations: z.record(identifier, relationSchema).optional(),
    aggregations: z
      .object({ fields: z.array(identifier).optional(), groupBy: z.array(identifier).optional() })
      .strict()
      .optional(),
    write: writePolicySchema.optional(),
    budget: budgetSchema.optional(),
    description: z.string().max(2_000).optional(),
  })
  .strict()

export const policyInputSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.string().max(128).optional(),
    profile: z.enum(PROFILES).optional(),
    defaults: z
      .object({
        fieldAction: z.enum(FIELD_ACTIONS).optional(),
        budget: budgetSchema.optional(),
      })
      .strict()
      .optional(),
    models: z.record(modelName, modelPolicySchema),
  })
  .strict()

export type PolicyInput = z.input<typeof policyInputSchema>
export type ModelPolicyInput = z.input<typeof modelPolicySchema>
export type FieldRuleInput = z.input<typeof fieldRuleSchema>
export type BudgetInput = z.input<typeof budgetSchema>
export type WritePolicyInput = z.input<typeof writePolicySchema>
export type RowPolicyInput = z.input<typeof rowPolicySchema>
export type FieldAction = (typeof FIELD_ACTIONS)[number]
export type WriteMode = (typeof WRITE_MODES)[number]
export type Profile = (typeof PROFILES)[number]
export type MaskStyle = (typeof MASK_STYLES)[number]
