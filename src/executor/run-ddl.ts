/**
 * Runs operator DDL (the generated RLS script) in one transaction: every statement applies, or none does.
 * The statements come from Tessera's own generators, never from a request; each is sent on its own, so no
 * text holding several statements reaches the simple protocol. Errors are the database's own, unmapped:
 * this is an operator tool (a migration, `tessera rls apply`), not an agent-facing path, and the operator
 * needs to see why the DDL failed.
 */
import { CompiledQuery } from 'kysely'
import type { AnyDatabase } from '../schema/index.ts'

export async function runDdl(db: AnyDatabase, statements: readonly string[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const statement of statements) await trx.executeQuery(CompiledQuery.raw(statement, []))
  })
}
