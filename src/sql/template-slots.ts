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

/**
 * Collects a call's bound values in walk order; `put` returns the marker, typed as the value it replaces — or,
 * for a walk that only collects (`markers` false: the read fast path, which builds no probe), the value itself.
 */
export class SlotValues {
  readonly values: unknown[] = []
  /** The JS type of each value, in order: part of the key, since the template was checked with these types. */
  types = ''
  readonly #markers: boolean

  constructor(markers = true) {
    this.#markers = markers
  }

  put<T>(value: T): T {
    const index = this.values.length
    this.values.push(value)
    this.types += `${Array.isArray(value) ? 'array' : typeof value},`
    // The builder only binds a marker, never inspects it.
    return this.#markers ? (slotAt(index) as unknown as T) : value
  }
}

/**
 * How one operand of a bound condition becomes its probe (which values are slots differs per template kind);
 * with `copy` false it only collects and returns the operand itself.
 */
export type ProbeOperand = (operand: OperandNode, slots: SlotValues, copy: boolean) => OperandNode

/**
 * A bound row-policy condition with its operands probed by `probeOperand`; its structure stays verbatim. With
 * `copy` false the same walk only collects (every operand passes through `probeOperand` in the same order) and
 * returns `node` itself: how the read fast path gathers a plan's values without building a probe
 * (statement-cache.ts `collectReadSlots`). One walk for both, so their slot orders cannot drift apart.
 */
export function probeCondition(
  node: ConditionNode,
  slots: SlotValues,
  probeOperand: ProbeOperand,
  copy = true,
): ConditionNode {
  switch (node.kind) {
    case 'bool':
    case 'is_null':
      return node
    case 'and':
    case 'or': {
      const operands: ConditionNode[] | undefined = copy ? [] : undefined
      for (const o of node.operands) {
        const probe = probeCondition(o, slots, probeOperand, copy)
        operands?.push(probe)
      }
      return operands === undefined ? node : { kind: node.kind, operands }
    }
    case 'not': {
      const operand = probeCondition(node.operand, slots, probeOperand, copy)
      return copy ? { kind: 'not', operand } : node
    }
    case 'compare': {
      const left = probeOperand(node.left, slots, copy)
      const right = probeOperand(node.right, slots, copy)
      return copy ? { ...node, left, right } : node
    }
    case 'in': {
      const right = node.right
      const left = probeOperand(node.left, slots, copy)
      if (right.kind === 'claimList') {
        const values = slots.put(right.values)
        return copy ? { ...node, left, right: { ...right, values } } : node
      }
      if (right.kind === 'list') {
        const items: OperandNode[] | undefined = copy ? [] : undefined
        for (const item of right.items) {
          const probe = probeOperand(item, slots, copy)
          items?.push(probe)
        }
        return items === undefined ? node : { ...node, left, right: { kind: 'list', items } }
      }
      const probe = probeOperand(right, slots, copy)
      return copy ? { ...node, left, right: probe } : node
    }
    default: {
      const never: never = node
      throw new Error(`unhandled condition kind ${String(never)}`)
    }
  }
}
