/**
 * Read templates for the read fast path (src/tools/read-shape-cache.ts): the statement template of a read
 * plan's shape, held by the caller, and the plan's bound values collected without building a probe plan or
 * its shape key (statement-cache.ts does both for every other read).
 *
 * The values are collected by the probe's own walk (read-probe.ts `collectReadSlots`, the walk run without
 * building the probe), so their order and JS-type text are the probe's by construction (an earlier version
 * walked the plan with its own copy of the probe's order). A template is handed out only when collecting the
 * plan it was made from gives exactly the probe's slot values and types; binding refuses (undefined) a plan
 * whose value types or NULL cursor keys differ from the template's. The caller's key decides which plans share
 * a template: everything a plan holds besides its bound values must be in it (the caller's docs say how), so
 * this file checks what the values can change and nothing else.
 */
import type { CompiledQuery } from 'kysely'
import type { AggregatePlan, GetPlan, QueryPlan } from '../planner/index.ts'
import type { AnyDatabase } from '../schema/index.ts'
import { instantiateTemplate, readPlanTemplate, type StatementTemplate } from './statement-cache.ts'
import { collectReadSlots } from './read-probe.ts'
import { SlotValues } from './template-slots.ts'

type ReadPlan = GetPlan | QueryPlan | AggregatePlan

/** A read statement template and what a plan must have to be bound into it. */
export interface ReadTemplate {
  /** The instance it was printed for: a template binds only plans sent there. */
  readonly db: AnyDatabase
  readonly template: StatementTemplate
  /** JS types of the slot values in order (SlotValues.types). */
  readonly types: string
  /** Which cursor keys are NULL (printed verbatim, so part of the statement's shape). */
  readonly after: string
}

/** The plan's slot values in probe order (statement-cache.ts's own walk), or undefined where it would not template. */
function readSlots(plan: ReadPlan): SlotValues | undefined {
  const slots = new SlotValues(false)
  return collectReadSlots(plan, slots) ? slots : undefined
}

function afterMask(plan: ReadPlan): string {
  if (plan.kind !== 'query' || plan.after === null) return '-'
  let mask = ''
  for (const v of plan.after) mask += v === null ? 'n' : 'v'
  return mask
}

/**
 * The template of `plan`'s shape as printed on `db` (plan as the executor prints it, after the enforcement
 * mode's reduction), or undefined when its shape is not templated or the slot collection here disagrees with
 * the probe's for this plan.
 */
export function readTemplateOf(db: AnyDatabase, plan: ReadPlan): ReadTemplate | undefined {
  const made = readPlanTemplate(db, plan)
  if (made === undefined) return undefined
  // The collection walks as the probe did (one walk); checked once per shape all the same.
  const slots = readSlots(plan)
  const probed = made.slots.values
  if (slots === undefined || slots.types !== made.slots.types || slots.values.length !== probed.length)
    return undefined
  for (let i = 0; i < probed.length; i++) if (!Object.is(slots.values[i], probed[i])) return undefined
  return { db, template: made.template, types: slots.types, after: afterMask(plan) }
}

/**
 * `plan`'s statement from `template`, or undefined when its values do not fit it (other JS types, other NULL
 * cursor keys, or a plan the probe would not template). The statement is marked printed like every other.
 */
export function bindReadTemplate<R>(
  template: ReadTemplate,
  db: AnyDatabase,
  plan: ReadPlan,
): CompiledQuery<R> | undefined {
  if (template.db !== db || afterMask(plan) !== template.after) return undefined
  const slots = readSlots(plan)
  if (slots === undefined || slots.types !== template.types) return undefined
  return instantiateTemplate<R>(template.template, slots.values)
}
