/**
 * The statements the executor sends besides a plan's own: the session's settings and the cost guard's EXPLAIN.
 * Printed here like every other statement (src/sql/printed-statement.ts), with every value a bound parameter.
 */
import { CompiledQuery, type QueryId, type RootOperationNode } from 'kysely'
import {
  isPrintedStatement,
  isSettingsStatement,
  markPrinted,
  markPrintedTemplate,
  sessionPrefix,
  sessionStatement,
  settingsStatement,
} from './printed-statement.ts'

export interface SessionSetting {
  /** A setting name from the executor's closed list (`tessera.tenant_id`, `statement_timeout`, `role`, …). */
  readonly name: string
  readonly value: string
}

/** Setting names are written into the text, so only plain dotted identifiers are accepted. */
const SETTING_NAME = /^[a-z_]+(\.[a-z_]+)?$/

/** The `set_config` text of one list of setting names, printed and marked once (markPrintedTemplate). */
interface SettingsTemplate {
  readonly sql: string
  readonly query: RootOperationNode
  readonly queryId: QueryId
}

/**
 * Templates by their names in order (`tessera.tenant_id,tessera.user_id,…`). The executor's settings come from a
 * closed list in a fixed order, so a handful of keys ever occur; past the bound a list is printed uncached.
 */
const templates = new Map<string, SettingsTemplate>()
const MAX_TEMPLATES = 64

function templateOf(settings: readonly SessionSetting[]): SettingsTemplate {
  let key = ''
  for (const s of settings) key += `${s.name},`
  const cached = templates.get(key)
  if (cached !== undefined) return cached
  const calls = settings.map((s, i) => {
    if (!SETTING_NAME.test(s.name)) throw new Error('invalid session setting name')
    return `set_config('${s.name}', $${i + 1}, true)`
  })
  const { sql, query, queryId } = CompiledQuery.raw(`select ${calls.join(', ')}`)
  markPrintedTemplate(query, queryId)
  const template = { sql, query, queryId }
  if (templates.size < MAX_TEMPLATES) templates.set(key, template)
  return template
}

/**
 * `select set_config('a', $1, true), set_config('b', $2, true), …`: transaction-local (`true`), so nothing
 * survives on a pooled connection once the transaction ends. The text is printed once per list of names; each
 * call makes only the statement object holding its values.
 */
export function printSessionSettings(settings: readonly SessionSetting[]): CompiledQuery {
  if (settings.length === 0) throw new Error('no session settings to print')
  const { sql, query, queryId } = templateOf(settings)
  const values: string[] = []
  for (const s of settings) values.push(s.value)
  return settingsStatement(query, queryId, sql, values)
}

/**
 * Whether `compiled` is a transaction's settings statement from printSessionSettings: it only sets
 * transaction-local values and its result is never read, so the Tessera dialect may send it together with the
 * statement that follows it in the transaction (tessera-dialect.ts).
 */
export function isSessionSettings(compiled: CompiledQuery): boolean {
  return isSettingsStatement(compiled)
}

/**
 * `statement` to be sent after `select set_config(…)` of `settings` as one message (the Tessera dialect's
 * session batch: both statements and one Sync, so one implicit transaction — the settings are gone when it
 * ends, and nothing else can run between them). A new object: `statement` may be a cached one, shared by
 * calls that carry other settings. Anything src/sql did not print is refused: its text is sent verbatim.
 */
export function printSessionStatement<R>(
  settings: readonly SessionSetting[],
  statement: CompiledQuery<R>,
): CompiledQuery<R> {
  if (!isPrintedStatement(statement))
    throw new Error('session statement over a statement src/sql did not print')
  return sessionStatement(statement, printSessionSettings(settings))
}

/** The settings statement `compiled` must run after, or undefined for a plain statement. */
export function sessionPrefixOf(compiled: CompiledQuery): CompiledQuery | undefined {
  return sessionPrefix(compiled)
}

/**
 * `EXPLAIN (FORMAT JSON)` of a statement printed here, with the same bound parameters. Anything else is
 * refused: its text is prefixed verbatim.
 */
export function printExplain(compiled: CompiledQuery): CompiledQuery<Record<string, unknown>> {
  if (!isPrintedStatement(compiled)) throw new Error('EXPLAIN of a statement src/sql did not print')
  const explain = CompiledQuery.raw(`EXPLAIN (FORMAT JSON) ${compiled.sql}`, [...compiled.parameters])
  return markPrinted(explain as CompiledQuery<Record<string, unknown>>)
}

/** The generic-plan probe's prepared statement name (one at a time per session). */
const COST_PROBE = 'tessera_cost_probe'

export interface GenericPlanProbe {
  /** `plan_cache_mode = force_generic_plan` for this transaction, and whether a probe is left on the session. */
  readonly setup: CompiledQuery<{ stale: boolean }>
  readonly prepare: CompiledQuery
  /** `EXPLAIN (FORMAT JSON) EXECUTE` with NULL arguments: a generic plan does not look at them. */
  readonly explain: CompiledQuery<Record<string, unknown>>
  readonly deallocate: CompiledQuery
}

/**
 * The statements that EXPLAIN the generic plan of a statement printed here (docs/decisions.md, "Cost guard on
 * the generic plan"). Anything else is refused: its text is prefixed verbatim.
 */
export function printGenericPlanProbe(compiled: CompiledQuery): GenericPlanProbe {
  if (!isPrintedStatement(compiled)) throw new Error('EXPLAIN of a statement src/sql did not print')
  const args = compiled.parameters.map(() => 'NULL').join(', ')
  return {
    setup: markPrinted(
      CompiledQuery.raw(
        `select set_config('plan_cache_mode', 'force_generic_plan', true) as mode,
                exists (select 1 from pg_catalog.pg_prepared_statements where name = $1) as stale`,
        [COST_PROBE],
      ) as CompiledQuery<{ stale: boolean }>,
    ),
    prepare: markPrinted(CompiledQuery.raw(`PREPARE ${COST_PROBE} AS ${compiled.sql}`)),
    explain: markPrinted(
      CompiledQuery.raw(
        `EXPLAIN (FORMAT JSON) EXECUTE ${COST_PROBE}${args === '' ? '' : `(${args})`}`,
      ) as CompiledQuery<Record<string, unknown>>,
    ),
    deallocate: markPrinted(CompiledQuery.raw(`DEALLOCATE ${COST_PROBE}`)),
  }
}
