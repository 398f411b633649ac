/**
 * The oracle: reads stored rows through an unscoped connection and decides, in memory and by the reference
 * policy, whether a principal may see them (isRowVisible, the planner's in-memory twin held to its SQL by a
 * differential test). A returned row is identified by its values, not by trusting key names: by its primary
 * key when the caller selected it, otherwise by every plain (allow) field it carries, compared with the
 * stored values — so a leak is found even when the caller selected neither the tenant nor the key columns.
 */
import type { Principal } from '../context/index.ts'
import { type Row, toJsonSafe } from '../executor/index.ts'
import { canonicalJson } from '../json/index.ts'
import { isRowVisible, planVisibility, type VisibilityPlan } from '../planner/index.ts'
import type { BoundModel, BoundPolicy } from '../policy/index.ts'
import type { AnyDatabase, ColumnInfo, TableInfo } from '../schema/index.ts'
import { ORACLE_JSON_COLUMN, printOracleRead } from '../sql/index.ts'

/** A stored row: `raw` as node-postgres returns it (what isRowVisible reads), `json` as PostgreSQL prints it. */
export interface StoredRow {
  readonly raw: Row
  readonly json: Readonly<Record<string, unknown>>
}

/** Rows read from one table without a key filter; a larger table must be narrowed by its primary key. */
export const ORACLE_TABLE_CAP = 50_000

/** Visibility for a principal, or `none` when the principal cannot be scoped (it then sees nothing). */
export type OracleVisibility = VisibilityPlan | 'none'

const IDENTITY_CLASSES = new Set<ColumnInfo['typeClass']>([
  'string',
  'uuid',
  'integer',
  'bigint',
  'numeric',
  'float',
  'boolean',
  'timestamp',
  'json',
])

export class RowOracle {
  readonly #db: AnyDatabase
  readonly #reference: BoundPolicy
  readonly #tables = new Map<string, Promise<StoredRow[]>>()
  readonly #lists = new WeakMap<object, Promise<StoredRow[][]>>()

  constructor(db: AnyDatabase, reference: BoundPolicy) {
    this.#db = db
    this.#reference = reference
  }

  get reference(): BoundPolicy {
    return this.#reference
  }

  /** A fresh oracle over the same connection: nothing cached (call it after every write). */
  fresh(): RowOracle {
    return new RowOracle(this.#db, this.#reference)
  }

  visibility(
    model: BoundModel,
    principal: Principal,
    options: { ignoreSoftDelete?: boolean } = {},
  ): OracleVisibility {
    try {
      const v = planVisibility(model, principal)
      return options.ignoreSoftDelete === true ? { ...v, softDeleteColumn: null } : v
    } catch {
      // TENANT_SCOPE_REQUIRED (a principal path that does not resolve): the principal may see no row.
      return 'none'
    }
  }

  /** True when every stored row is visible: there is nothing another tenant owns here. */
  static unconditional(v: OracleVisibility): boolean {
    return (
      v !== 'none' &&
      (v.bypass !== null || v.shared) &&
      v.restrictive.length === 0 &&
      v.softDeleteColumn === null
    )
  }

  isVisible(v: OracleVisibility, row: StoredRow, _principal: Principal): boolean {
    if (v === 'none') return false
    try {
      return isRowVisible(v, row.raw)
    } catch {
      return false
    }
  }

  /** Every stored row of the model's table (cached), at most ORACLE_TABLE_CAP. */
  tableRows(model: BoundModel): Promise<StoredRow[]> {
    const key = model.table.key
    let rows = this.#tables.get(key)
    if (!rows) {
      rows = this.#read(model.table, null).then((found) => {
        if (found.length > ORACLE_TABLE_CAP) {
          throw new Error(
            `eval oracle: table ${key} has more than ${ORACLE_TABLE_CAP} rows; select the primary key of ${model.name} so rows can be read by key`,
          )
        }
        return found
      })
      this.#tables.set(key, rows)
    }
    return rows
  }

  /**
   * Candidate stored rows for each returned row of `model`: the stored rows whose plain fields equal the
   * returned ones. Reads by primary key when every returned row carries a single-column key, else the table.
   */
  async candidates(model: BoundModel, returned: readonly Row[], keyHint?: string): Promise<StoredRow[][]> {
    const identity = identityColumns(model)
    const pk = model.primaryKey.length === 1 ? model.primaryKey[0] : undefined
    if (keyHint !== undefined && pk !== undefined) {
      // The caller named the row (get/update by id): only that stored row can be the answer.
      const pool = await this.#read(model.table, { column: pk, values: [keyHint] })
      return returned.map((r) => {
        const present = identity.filter((c) => Object.hasOwn(r, c.name))
        return pool.filter((stored) => present.every((c) => sameValue(c, r[c.name], stored.json[c.name])))
      })
    }
    const byKey =
      pk !== undefined &&
      identity.some((c) => c.name === pk) &&
      returned.every((r) => Object.hasOwn(r, pk) && r[pk] !== null && typeof r[pk] !== 'object')
    const pool =
      byKey && pk !== undefined
        ? await this.#read(model.table, {
            column: pk,
            values: [...new Set(returned.map((r) => String(r[pk])))],
          })
        : await this.tableRows(model)
    return returned.map((r) => {
      const present = identity.filter((c) => Object.hasOwn(r, c.name))
      return pool.filter((stored) => present.every((c) => sameValue(c, r[c.name], stored.json[c.name])))
    })
  }

  /** `candidates` for one list of returned rows, computed once per oracle (invariants share it). */
  candidatesOf(list: {
    readonly model: BoundModel
    readonly rows: readonly Row[]
    readonly keyHint?: string
  }): Promise<StoredRow[][]> {
    let found = this.#lists.get(list)
    if (!found) {
      found = this.candidates(list.model, list.rows, list.keyHint)
      this.#lists.set(list, found)
    }
    return found
  }

  /** Stored rows of the model whose `column` (as text) is one of `values`; not cached. */
  rowsWhere(model: BoundModel, column: string, values: readonly string[]): Promise<StoredRow[]> {
    return this.#read(model.table, { column, values: [...values] })
  }

  /** The stored row's key and scoping columns, for messages (the oracle may show them; callers never see them). */
  describeStored(model: BoundModel, row: StoredRow): Record<string, unknown> {
    const cols = new Set([...model.primaryKey, ...model.policy.scoping.map((s) => s.column)])
    return Object.fromEntries([...cols].map((c) => [c, toJsonSafe(row.raw[c] ?? null)]))
  }

  async #read(
    table: TableInfo,
    keyIn: { column: string; values: readonly string[] } | null,
  ): Promise<StoredRow[]> {
    const compiled = printOracleRead(this.#db, table, keyIn, ORACLE_TABLE_CAP + 1)
    const result = await this.#db.executeQuery(compiled)
    return result.rows.map((r) => {
      const { [ORACLE_JSON_COLUMN]: json, ...raw } = r
      return { raw, json: (json ?? {}) as Record<string, unknown> }
    })
  }
}

/** Fields the reference shows unchanged (allow) and whose values identify a row reliably. */
export function identityColumns(model: BoundModel): ColumnInfo[] {
  return Object.values(model.fields)
    .filter((f) => f.rule.action === 'allow' && IDENTITY_CLASSES.has(f.column.typeClass))
    .map((f) => f.column)
}

/**
 * Compares a returned value with a stored one (PostgreSQL's JSON form), across the representations the
 * toolset uses: numbers as strings at the top level and JSON numbers inside includes, timestamps as ISO
 * strings with or without an offset, dates as dates or midnight timestamps.
 */
export function sameValue(column: ColumnInfo, returned: unknown, stored: unknown): boolean {
  return normalize(column, returned) === normalize(column, stored)
}

function normalize(column: ColumnInfo, v: unknown): string {
  if (v === null || v === undefined) return 'null'
  switch (column.typeClass) {
    case 'integer':
    case 'bigint':
    case 'numeric':
    case 'float': {
      const n = Number(v)
      return Number.isNaN(n) ? `s:${String(v)}` : `n:${n}`
    }
    case 'timestamp': {
      const s = String(v)
      if (column.udtName === 'date') {
        if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `d:${s}`
        const d = new Date(s)
        if (Number.isNaN(d.getTime())) return `s:${s}`
        // pg parses a date as local midnight; its ISO form is that instant in UTC.
        const pad = (x: number): string => String(x).padStart(2, '0')
        return `d:${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
      }
      const ms = Date.parse(s)
      return Number.isNaN(ms) ? `s:${s}` : `t:${ms}`
    }
    case 'json':
      return `j:${canonicalJson(v)}`
    case 'boolean':
      return `b:${String(v)}`
    case 'string':
    case 'uuid':
    case 'bytea':
    case 'array':
    case 'other':
      return typeof v === 'string' ? `s:${v}` : `j:${canonicalJson(v)}`
    default: {
      const never: never = column.typeClass
      return String(never)
    }
  }
}
