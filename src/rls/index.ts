/**
 * Row-level security (docs/contract.md §5): PostgreSQL RLS DDL printed from the same Policy as the planner's predicates,
 * the posture check that tells whether that second wall applies to the application role, and the helpers to
 * apply it (directly or as a Kysely migration).
 */
import type { Kysely } from 'kysely'
import { runDdl } from '../executor/index.ts'
import type { BoundPolicy } from '../policy/index.ts'
import { readRlsCatalog, type AnyDatabase } from '../schema/index.ts'
import { checkRlsPosture, type PostureReport } from './check-rls-posture.ts'
import { dropRlsStatements, type GeneratedRls } from './generate-rls.ts'

export { generateRls, rlsScript, dropRlsStatements, RLS_COMMANDS, RLS_POLICY_PREFIX } from './generate-rls.ts'
export type { GeneratedPolicy, GeneratedRls, GeneratedTable, RlsCommand, RlsOptions } from './generate-rls.ts'
export { checkRlsPosture, POSTURE_CODES } from './check-rls-posture.ts'
export type { PostureCode, PostureFinding, PostureInput, PostureReport } from './check-rls-posture.ts'
export { printRlsCondition } from './print-rls-condition.ts'
export type { ColumnLookup } from './print-rls-condition.ts'

/** Runs the generated script in one transaction. Connect as the tables' owner (not the application role). */
export async function applyRls(db: AnyDatabase, generated: GeneratedRls): Promise<void> {
  await runDdl(db, generated.statements)
}

/** Reads the catalog as `role` (default: the session's role) and judges it against the generated RLS. */
export async function inspectRlsPosture(
  db: AnyDatabase,
  bound: BoundPolicy,
  generated: GeneratedRls,
  options: {
    readonly role?: string
    readonly enforcement?: 'rls' | 'both'
    readonly referencedRowsChecked?: boolean
  } = {},
): Promise<PostureReport> {
  const tables = generated.tables.map((t) => ({ schema: t.schema, name: t.table }))
  const catalog = await readRlsCatalog(db, tables, options.role === undefined ? {} : { role: options.role })
  return checkRlsPosture({
    bound,
    generated,
    catalog,
    ...(options.enforcement === undefined ? {} : { enforcement: options.enforcement }),
    ...(options.referencedRowsChecked === undefined
      ? {}
      : { referencedRowsChecked: options.referencedRowsChecked }),
  })
}

/** A Kysely migration (`Migrator` provider entry): `up` applies the generated RLS, `down` removes it. */
export function rlsMigration(generated: GeneratedRls): {
  up(db: Kysely<unknown>): Promise<void>
  down(db: Kysely<unknown>): Promise<void>
} {
  return {
    async up(db) {
      await runDdl(db as AnyDatabase, generated.statements)
    },
    async down(db) {
      await runDdl(db as AnyDatabase, dropRlsStatements(generated))
    },
  }
}
