/**
 * The prepared-statement names of one Tessera dialect (tessera-dialect.ts): which SQL text runs under which
 * `ts_…` name, and how many names each connection holds.
 */
import { createHash, randomBytes } from 'node:crypto'

/**
 * Names statements `ts_<16 hex>` from a SHA-1 of the SQL text, salted per dialect instance. The salt
 * matters on PGlite, where every pool shares one backend session: two pools that both prepared `commit`
 * under the same name would collide on the server (42P05) while each pg client believes it owns the name.
 *
 * pg remembers parsed names on the client's `connection` object, which PGlite's adapter shares across
 * client objects of one pool, so the per-connection budget is keyed on that object when present.
 */
export class StatementNamer {
  readonly #max: number
  readonly #salt = randomBytes(8).toString('hex')
  readonly #prepared = new WeakMap<object, Set<string>>()
  /** Name of each recent SQL text: the same texts recur (compiled-statement cache), so hash each once. */
  readonly #names = new Map<string, string>()

  constructor(max: number) {
    this.#max = max
  }

  nameFor(client: object, sql: string): string | undefined {
    if (this.#max === 0) return undefined
    const key = sessionKey(client)
    let names = this.#prepared.get(key)
    if (!names) {
      names = new Set()
      this.#prepared.set(key, names)
    }
    const name = this.#nameOf(sql)
    if (names.has(name)) return name
    if (names.size >= this.#max) return undefined
    names.add(name)
    return name
  }

  #nameOf(sql: string): string {
    let name = this.#names.get(sql)
    if (name === undefined) {
      name = `ts_${createHash('sha1').update(this.#salt).update('\0').update(sql).digest('hex').slice(0, 16)}`
      if (this.#names.size >= MAX_REMEMBERED_NAMES) this.#names.clear()
      this.#names.set(sql, name)
    }
    return name
  }
}

/**
 * SQL texts whose names are remembered per dialect. Past it the memory starts over (names are recomputed, the
 * same): a workload with more distinct texts than this mostly runs them unnamed anyway.
 */
const MAX_REMEMBERED_NAMES = 1024

function sessionKey(client: object): object {
  const connection: unknown = (client as { connection?: unknown }).connection
  return typeof connection === 'object' && connection !== null ? connection : client
}
