/** The one way Tessera builds its Kysely instance over a pg pool, embedded (PGlite) or server alike. */
import { Kysely } from 'kysely'
import type { AnyDatabase, AnyTables } from '../schema/index.ts'
import { createTesseraDialect, type TesseraPool } from './tessera-dialect.ts'

/** Session statement_timeout set on every new connection, so app-mode reads need no transaction to set it. */
export const DEFAULT_SESSION_STATEMENT_TIMEOUT_MS = 5000

export interface KyselyOverPoolOptions {
  readonly statementTimeoutMs?: number
  readonly maxPreparedPerConnection?: number
}

export function kyselyOverPool(pool: TesseraPool, options: KyselyOverPoolOptions): AnyDatabase {
  return new Kysely<AnyTables>({
    dialect: createTesseraDialect({
      pool,
      statementTimeoutMs: options.statementTimeoutMs ?? DEFAULT_SESSION_STATEMENT_TIMEOUT_MS,
      ...(options.maxPreparedPerConnection === undefined
        ? {}
        : { maxPreparedPerConnection: options.maxPreparedPerConnection }),
    }),
  })
}
