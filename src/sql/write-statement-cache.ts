/**
 * The statements of a create and of an update (printCheckedInsert, printLockedUpdate), compiled by Kysely once
 * per write *shape* and then reused with the call's values — as statement-cache.ts does for reads. Building and
 * compiling the Kysely tree of a write costs about 100 µs, more than everything else the call does in Node, while
 * two creates of the same model that differ only in their values (tenant, data, referenced keys) print the same
 * SQL text.
 *
 * How a shape is made safe to reuse:
 * - The printers take the narrow shapes print-write.ts declares (InsertShape, LockedUpdateShape,
 *   ReferenceValuesShape), so the type checker holds them to those members. The probe is a new object of exactly
 *   those members, in which every value the printers only *bind* is a Slot marker: written data values, target
 *   keys, referenced key values, scope values and claim and literal values of row-policy conditions. The key
 *   writes every member of the probe (see the shape key below), with the JS types of the values, so any
 *   difference a printer can see changes the key.
 * - A template is kept only if every compiled parameter is a Slot and every Slot is bound at least once, and
 *   if instantiating it with the first call's values gives exactly what printing that call directly gives.
 *   Anything else (an array of keys, a literal list holding a claim) is printed directly on every call.
 * - Only for databases without Kysely plugins (a plugin may rewrite a query depending on its values).
 */
import { createQueryId, type CompiledQuery, type QueryId, type RootOperationNode } from 'kysely'
import type { ColumnWrite, KeyValue, SelectedField, VisibilityPlan } from '../planner/index.ts'
import type { OperandNode } from '../policy/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { markPrinted, markPrintedTemplate, templateStatement } from './printed-statement.ts'
import { isSlot, probeCondition, SlotValues } from './template-slots.ts'
import {
  printCheckedInsert,
  printLockedUpdate,
  type InsertShape,
  type LockedUpdateShape,
  type ReferenceValuesShape,
  type WriteRow,
} from './print-write.ts'

/** Distinct write shapes remembered per database; the least recently added is dropped first. */
export const MAX_WRITE_TEMPLATES = 256

/**
 * Claim and literal values are bound, so they become slots (a literal is the same for every call of a rule, but
 * as a slot it is checked like every other parameter); NULL stays verbatim, as the printer may read it.
 */
function probeOperand(o: OperandNode, slots: SlotValues): OperandNode {
  if (o.kind === 'claim' && o.value !== null) return { ...o, value: slots.put(o.value) }
  if (o.kind === 'literal' && o.value !== null) return { ...o, value: slots.put(o.value) }
  return o
}

function probeVisibility(v: VisibilityPlan, slots: SlotValues): VisibilityPlan {
  return {
    model: v.model,
    scopes: v.scopes.map((s) => ({ column: s.column, source: s.source, value: slots.put(s.value) })),
    permissive: v.permissive.map((r) => ({
      name: r.name,
      condition: probeCondition(r.condition, slots, probeOperand),
    })),
    restrictive: v.restrictive.map((r) => ({
      name: r.name,
      condition: probeCondition(r.condition, slots, probeOperand),
    })),
    bypass: v.bypass,
    softDeleteColumn: v.softDeleteColumn,
    shared: v.shared,
  }
}

function probeWrites(writes: readonly ColumnWrite[], slots: SlotValues): ColumnWrite[] {
  return writes.map((w) =>
    w.value.kind === 'param'
      ? { column: w.column, value: { kind: 'param', value: slots.put(w.value.value) } }
      : { column: w.column, value: w.value },
  )
}

function probeInsert(plan: InsertShape, slots: SlotValues): InsertShape {
  return {
    table: { schema: plan.table.schema, name: plan.table.name },
    writes: probeWrites(plan.writes, slots),
    visibility: probeVisibility(plan.visibility, slots),
    returning: { fields: plan.returning.fields },
  }
}

function probeKey(key: KeyValue, slots: SlotValues): KeyValue {
  const out: Record<string, unknown> = {}
  for (const column of Object.keys(key)) out[column] = slots.put(key[column])
  return out
}

/*
 * The shape key, written member by member (JSON.stringify of a probe cost ~20 µs): every string length-prefixed,
 * every list counted, so two different shapes never share a key. Slots are not written — where they sit follows
 * from the members around them — and neither are values, except verbatim ones inside row-policy rules (their JSON).
 * The `satisfies` lists below fail to compile when a type the key covers gains a member the key does not write.
 */
const VISIBILITY_MEMBERS = {
  model: true,
  scopes: true,
  permissive: true,
  restrictive: true,
  bypass: true,
  softDeleteColumn: true,
  shared: true,
} as const satisfies Record<keyof VisibilityPlan, true>
const INSERT_MEMBERS = {
  table: true,
  writes: true,
  visibility: true,
  returning: true,
} as const satisfies Record<keyof InsertShape, true>
const LOCKED_UPDATE_MEMBERS = {
  ...INSERT_MEMBERS,
  primaryKey: true,
  targets: true,
  checkColumns: true,
} as const satisfies Record<keyof LockedUpdateShape, true>
const REFERENCE_MEMBERS = { table: true, remoteColumns: true, targets: true } as const satisfies Record<
  keyof ReferenceValuesShape['fk'],
  true
>
void [VISIBILITY_MEMBERS, INSERT_MEMBERS, LOCKED_UPDATE_MEMBERS, REFERENCE_MEMBERS]

function text(s: string): string {
  return `${s.length}:${s}`
}

function texts(list: readonly string[]): string {
  let out = `${list.length}[`
  for (const s of list) out += text(s)
  return out
}

function orNull(s: string | null): string {
  return s === null ? '-' : text(s)
}

function visibilityKey(v: VisibilityPlan): string {
  let out = `v${text(v.model)}${v.shared ? 'S' : 's'}${orNull(v.bypass)}${orNull(v.softDeleteColumn)}${v.scopes.length}`
  for (const scope of v.scopes) out += text(scope.column) + text(scope.source)
  // Rules are rare on the write path and hold verbatim parts (operators, field names, NULL): written whole.
  if (v.permissive.length > 0 || v.restrictive.length > 0) {
    out += text(JSON.stringify([v.permissive, v.restrictive]))
  } else out += '0'
  return out
}

/**
 * A model's default returning fields are one shared, deeply frozen list (plan-select.ts, plan-constants.ts): it
 * is named by a short id of its own, so the key every call hashes does not carry the list's JSON (several
 * hundred characters, most of the key). Two frozen lists alike get two ids: two templates of the same text. A
 * list that is not frozen could change under its id: it is written whole, as every list used to be.
 */
const fieldsKeys = new WeakMap<readonly SelectedField[], string>()
let fieldsIds = 0

function fieldsKey(fields: readonly SelectedField[]): string {
  if (!Object.isFrozen(fields) || !fields.every((f) => Object.isFrozen(f))) {
    return text(JSON.stringify(fields))
  }
  let key = fieldsKeys.get(fields)
  if (key === undefined) {
    key = `#${++fieldsIds}`
    fieldsKeys.set(fields, key)
  }
  return key
}

function valueKindKey(w: ColumnWrite): string {
  switch (w.value.kind) {
    case 'param':
      return 'p'
    case 'now':
      return 'n'
    default: {
      const never: never = w.value
      throw new Error(`unhandled write value ${String(never)}`)
    }
  }
}

function insertKey(plan: InsertShape): string {
  let out = `${text(plan.table.schema)}${text(plan.table.name)}${plan.writes.length}`
  for (const w of plan.writes) out += text(w.column) + valueKindKey(w)
  return out + visibilityKey(plan.visibility) + fieldsKey(plan.returning.fields)
}

interface WriteTemplate {
  readonly sql: string
  readonly query: RootOperationNode
  /** One query id for every statement of the template, marked printed once with its node. */
  readonly queryId: QueryId
  /** Compiled parameter i takes slot value `order[i]`. */
  readonly order: readonly number[]
}

const UNCACHEABLE = Symbol('uncacheable')
type Uncacheable = typeof UNCACHEABLE

const templatesByDb = new WeakMap<AnyDatabase, Map<string, WriteTemplate | Uncacheable>>()

function makeTemplate(
  probe: CompiledQuery,
  direct: CompiledQuery,
  values: readonly unknown[],
): WriteTemplate | Uncacheable {
  const order: number[] = []
  const seen = new Set<number>()
  for (const p of probe.parameters) {
    if (!isSlot(p)) return UNCACHEABLE
    seen.add(p.$slot)
    order.push(p.$slot)
  }
  if (seen.size !== values.length) return UNCACHEABLE
  const same =
    probe.sql === direct.sql &&
    direct.parameters.length === order.length &&
    direct.parameters.every((p, i) => Object.is(p, values[order[i] as number]))
  if (!same) return UNCACHEABLE
  const queryId = createQueryId()
  markPrintedTemplate(probe.query, queryId)
  return { sql: probe.sql, query: probe.query, queryId, order }
}

/**
 * The statement `print(actual)` compiles to, from the template of the probe's shape when there is one, marked as
 * printed here (src/sql/printed-statement.ts).
 */
function compileCached<S>(
  db: AnyDatabase,
  shape: string,
  print: (shape: S) => { compile(db: AnyDatabase): CompiledQuery<WriteRow> },
  actual: S,
  probe: S,
  slots: SlotValues,
): CompiledQuery<WriteRow> {
  if (db.getExecutor().plugins.length > 0) return markPrinted(print(actual).compile(db))
  let templates = templatesByDb.get(db)
  if (!templates) {
    templates = new Map()
    templatesByDb.set(db, templates)
  }
  // The JS types of the values are part of the key: the template was checked with these types.
  const key = `${slots.types}|${shape}`
  let template = templates.get(key)
  if (template === undefined) {
    const direct = markPrinted(print(actual).compile(db))
    let compiled: CompiledQuery<WriteRow> | undefined
    try {
      compiled = print(probe).compile(db)
    } catch {
      compiled = undefined
    }
    template = compiled === undefined ? UNCACHEABLE : makeTemplate(compiled, direct, slots.values)
    if (templates.size >= MAX_WRITE_TEMPLATES) {
      const oldest = templates.keys().next()
      if (!oldest.done) templates.delete(oldest.value)
    }
    templates.set(key, template)
    return direct
  }
  if (template === UNCACHEABLE) return markPrinted(print(actual).compile(db))
  const values = slots.values
  const order = template.order
  const parameters: unknown[] = new Array<unknown>(order.length)
  for (let i = 0; i < order.length; i++) parameters[i] = values[order[i] as number]
  return templateStatement(template.query, template.queryId, template.sql, parameters)
}

/** printCheckedInsert(plan, references), compiled on `db`, from the shape cache when possible. */
export function compileCheckedInsert(
  db: AnyDatabase,
  plan: InsertShape,
  references: readonly ReferenceValuesShape[],
): CompiledQuery<WriteRow> {
  const slots = new SlotValues()
  const insert = probeInsert(plan, slots)
  const refs = references.map((r) => ({
    fk: {
      table: { schema: r.fk.table.schema, name: r.fk.table.name },
      remoteColumns: r.fk.remoteColumns,
      targets: r.fk.targets.map((t) => ({
        model: t.model,
        visibility: probeVisibility(t.visibility, slots),
      })),
    },
    values: r.values.map((v) => slots.put(v)),
  }))
  type Input = { readonly plan: InsertShape; readonly references: readonly ReferenceValuesShape[] }
  let shape = `i${insertKey(insert)}${refs.length}`
  for (const r of refs) {
    shape += `${text(r.fk.table.schema)}${text(r.fk.table.name)}${texts(r.fk.remoteColumns)}${r.fk.targets.length}`
    for (const t of r.fk.targets) shape += text(t.model) + visibilityKey(t.visibility)
    shape += r.values.length
  }
  return compileCached<Input>(
    db,
    shape,
    (s) => printCheckedInsert(s.plan, s.references),
    { plan, references },
    { plan: insert, references: refs },
    slots,
  )
}

/** printLockedUpdate(plan, abort), compiled on `db`, from the shape cache when possible. */
export function compileLockedUpdate(
  db: AnyDatabase,
  plan: LockedUpdateShape,
  abort: boolean,
): CompiledQuery<WriteRow> {
  const slots = new SlotValues()
  const insert = probeInsert(plan, slots)
  // Written out: members added after a spread cost V8 a new hidden class each (see plan-write.ts planCreate).
  const probe: LockedUpdateShape = {
    table: insert.table,
    writes: insert.writes,
    visibility: insert.visibility,
    returning: insert.returning,
    primaryKey: plan.primaryKey,
    targets: plan.targets.map((t) => probeKey(t, slots)),
    checkColumns: plan.checkColumns,
  }
  let shape = `${abort ? 'U' : 'u'}${insertKey(probe)}${texts(probe.primaryKey)}${texts(probe.checkColumns)}${probe.targets.length}`
  for (const t of probe.targets) shape += texts(Object.keys(t))
  return compileCached(db, shape, (s: LockedUpdateShape) => printLockedUpdate(s, abort), plan, probe, slots)
}
