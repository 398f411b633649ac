/**
 * The slot markers statement templates are made of (statement-cache.ts for reads, write-statement-cache.ts for
 * creates and updates): a probe plan carries a Slot wherever the call's plan has a value the printers only bind,
 * and a compiled template's parameters are Slots that each call replaces with its own values.
 */
import type { ConditionNode, OperandNode } from '../policy/index.ts'

/**
 * Stands for the value at `$slot` of a call's slot values, in the probe plan and its compiled parameters. A
 * plain object (no toJSON) keeps JSON.stringify on its fast path; identity with the pool makes it unforgeable.
 */
export interface Slot {
  readonly $slot: number
}

const slotPool: Slot[] = []

function slotAt(index: number): Slot {
  let slot = slotPool[index]
  if (slot === undefined) {
    slot = Object.freeze({ $slot: index })
    slotPool[index] = slot
  }
  return slot
}

export function isSlot(value: unknown): value is Slot {
  return typeof value === 'object' && value !== null && slotPool[(value as Slot).$slot] === value
}

export function slotIndexOf(value: unknown): number {
  return isSlot(value) ? value.$slot : -1
}

/** Collects a call's bound values in walk order; `put` returns the marker, typed as the value it replaces. */
export class SlotValues {
  readonly values: unknown[] = []
  /** The JS type of each value, in order: part of the key, since the template was checked with these types. */
  types = ''
  put<T>(value: T): T {
    const slot = slotAt(this.values.length)
    this.values.push(value)
    this.types += `${Array.isArray(value) ? 'array' : typeof value},`
    // The builder only binds a marker, never inspects it.
    return slot as unknown as T
  }
}

/** How one operand of a bound condition becomes its probe (which values are slots differs per template kind). */
export type ProbeOperand = (operand: OperandNode, slots: SlotValues) => OperandNode

/** A bound row-policy condition with its operands probed by `probeOperand`; its structure stays verbatim. */
export function probeCondition(
  node: ConditionNode,
  slots: SlotValues,
  probeOperand: ProbeOperand,
): ConditionNode {
  switch (node.kind) {
    case 'bool':
    case 'is_null':
      return node
    case 'and':
    case 'or':
      return {
        kind: node.kind,
        operands: node.operands.map((o) => probeCondition(o, slots, probeOperand)),
      }
    case 'not':
      return { kind: 'not', operand: probeCondition(node.operand, slots, probeOperand) }
    case 'compare':
      return { ...node, left: probeOperand(node.left, slots), right: probeOperand(node.right, slots) }
    case 'in': {
      const right = node.right
      const left = probeOperand(node.left, slots)
      if (right.kind === 'claimList')
        return { ...node, left, right: { ...right, values: slots.put(right.values) } }
      if (right.kind === 'list')
        return {
          ...node,
          left,
          right: { kind: 'list', items: right.items.map((i) => probeOperand(i, slots)) },
        }
      return { ...node, left, right: probeOperand(right, slots) }
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}
