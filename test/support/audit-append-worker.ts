/**
 * A separate process appending audit records concurrently (used by test/db/audit-multi-process.test.ts):
 * `node --import tsx audit-append-worker.ts <postgres|jsonl> <url|path> <callers> <perCaller>`.
 * Prints one JSON line `{ "appended": n }` and exits 0, or exits 1 with the error on stderr.
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { type AuditStore, JsonlAuditStore, PostgresAuditStore } from '../../src/stores/index.ts'
import { auditDraft } from './audit-store-conformance.ts'

const [kind, target, callersArg, perCallerArg] = process.argv.slice(2)
const callers = Number(callersArg)
const perCaller = Number(perCallerArg)
const TENANTS = ['tenant-a', 'tenant-b', 'tenant-c']

async function main(): Promise<void> {
  let store: AuditStore
  let close: () => Promise<void>
  if (kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target, max: 8 })
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
    store = new PostgresAuditStore({ db })
    close = () => db.destroy()
  } else if (kind === 'jsonl' && target !== undefined) {
    const jsonl = new JsonlAuditStore({ path: target, fsync: 'never' })
    store = jsonl
    close = () => jsonl.close()
  } else {
    throw new Error(`unknown store kind ${kind}`)
  }
  let appended = 0
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; i < perCaller; i++) {
        const tenantId = TENANTS[(caller + i) % TENANTS.length] ?? null
        await store.append(auditDraft({ tenantId, requestId: `${process.pid}-${caller}-${i}` }))
        appended += 1
      }
    }),
  )
  await close()
  process.stdout.write(`${JSON.stringify({ appended })}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
