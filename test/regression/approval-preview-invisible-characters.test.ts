/**
 * Found by the red team on the payroll schema: the approval preview (the line a person reads in `tessera
 * approvals list` and in the MCP elicitation form before approving) JSON-quoted each value, but JSON keeps
 * bidirectional overrides, isolates, zero-width characters and C1 controls as they are. An agent could put
 * U+202E (right-to-left override) into a text value or the reason so the rest of the line, the amounts
 * included, rendered reordered for the approver. The preview now spells such characters as `\uXXXX` escapes,
 * which is still exactly the JSON value that will be written.
 */
import { beforeAll, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeWrite } from '../../src/tools/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { HR_A, loadPayroll, payrollPolicy } from '../support/payroll.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { errorOf } from '../support/write-helpers.ts'

const INVISIBLE = /[\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u
const SPOOF = 'routine \u202e\u2066fix\u2069\u200b\u009b31m\ufeff'

it('describeWrite escapes invisible and reordering characters in values and the reason', () => {
  const line = describeWrite('db_update', {
    model: 'Check',
    id: 1,
    data: { memo: SPOOF, gross_cents: '100' },
    reason: `ok\u202e`,
  })
  expect(line).not.toMatch(INVISIBLE)
  expect(line).toContain('\\u202e')
  expect(line).toContain('gross_cents = "100"')
  // Still a JSON string literal that parses back to the exact value.
  const quoted = /memo = ("(?:[^"\\]|\\.)*")/.exec(line)?.[1] ?? ''
  expect(JSON.parse(quoted)).toBe(SPOOF)
})

describeEachDatabase('approval preview with invisible characters', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    await loadPayroll(db())
    const policy = payrollPolicy()
    const check = policy.models['Check']!
    const approval: PolicyInput = {
      ...policy,
      models: { ...policy.models, Check: { ...check, write: { ...check.write, update: 'approval' } } },
    }
    h = await toolsetFor(db(), approval)
  })

  it('shows the approver escapes, and writes the exact value once approved', async () => {
    const args = { model: 'Check', id: 1, data: { memo: SPOOF, gross_cents: 100 }, reason: 'typo\u202e' }
    const pending = await errorOf(h.toolset.update(HR_A, args))
    expect(pending.code).toBe('WRITE_APPROVAL_REQUIRED')
    const preview = pending.details['preview'] as string
    expect(preview).not.toMatch(INVISIBLE)
    await h.toolset.approvals.approve(pending.details['approvalId'] as string, 'manager')
    const listed = (await h.toolset.approvals.list({})).map((a) => describeWrite(a.tool, a.args))
    for (const line of listed) expect(line).not.toMatch(INVISIBLE)
    const { row } = await h.toolset.update(HR_A, { ...args, approvalId: pending.details['approvalId'] })
    expect(row['memo']).toBe(SPOOF)
  })
})
