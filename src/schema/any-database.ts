import type { Kysely } from 'kysely'

/** A Kysely instance over any user database: its table types are unknown when Tessera is compiled. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- why: user schemas are only known at run time
export type AnyDatabase = Kysely<any> // why: user schemas are only known at run time (introspection)

/** The table map of such a database, for `new Kysely<AnyTables>(…)`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- why: as above
export type AnyTables = any // why: as above; only the dialect and pool are typed
