/**
 * Regression (issue 9, item 9): the audit could be blinded. Inputs were cut at depth 6 and 50 list items, so a
 * filter nested three `and`s deep was stored as `"[…]"` and a long in-list lost its tail. The record now holds
 * the normalised request in full (the input guard already bounds it; secrets still redacted) and a keyed
 * sha256 digest of the raw arguments.
 */
import { createHmac } from 'node:crypto'
import { beforeAll, expect, it } from 'vitest'
import { canonicalJson } from '../../src/json/index.ts'
import { REDACTED, verifyAuditChain } from '../../src/stores/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, TEST_SECRET } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { scopedOrder } from '../support/scoped-order.ts'

/** What the record's argsDigest must be: HMAC-SHA256 under the key derived from the toolset's secret. */
function digestOf(args: unknown): string {
  const key = createHmac('sha256', TEST_SECRET).update('tessera/audit-args/v1').digest()
  return createHmac('sha256', key).update(canonicalJson(args)).digest('hex')
}

const STATUSES = Array.from({ length: 80 }, (_, i) => `status-${i}`)

/** A condition buried `levels` ands deep. */
function buried(levels: number, leaf: unknown): unknown {
  let node = leaf
  for (let i = 0; i < levels; i++) node = { and: [node, { field: 'total', op: 'gte', value: i }] }
  return node
}

describeEachDatabase('regression: the audit records the whole request', (db) => {
  let h: ToolsetHarness

  beforeAll(async () => {
    h = await toolsetFor(db(), {
      models: {
        Order: scopedOrder(
          { id: 'allow', status: 'allow', total: 'allow', created_by: 'mask' },
          {
            budget: { maxInItems: 100, maxComplexity: 1000 },
          },
        ),
      },
    })
  })

  function lastRecord() {
    const records = h.audit.all()
    return records[records.length - 1]
  }

  it('keeps a filter nested four ands deep and an 80-item in-list in full, with the digest of the raw arguments', async () => {
    const args = {
      model: 'Order',
      where: buried(4, { field: 'status', op: 'in', value: STATUSES }),
    }
    const r = await h.toolset.call(as(ALICE), 'db_query', args)
    expect(r.ok ? null : r.error).toBeNull()
    const record = lastRecord()
    const text = JSON.stringify(record?.inputs)
    expect(text).not.toContain('[…]')
    expect(text).not.toContain('more]')
    expect(text).toContain('"status-79"')
    // Four levels of and, each with its comparison on total, then the in-list.
    let node = (record?.inputs as { where: { kind: string; items: unknown[] } }).where
    for (let i = 3; i >= 0; i--) {
      expect(node.kind).toBe('and')
      expect(node.items[1]).toEqual({ kind: 'cmp', field: 'total', op: 'gte', value: i })
      node = node.items[0] as typeof node
    }
    expect(node).toEqual({ kind: 'cmp', field: 'status', op: 'in', value: STATUSES })
    expect(record?.argsDigest).toBe(digestOf(args))
  })

  it('still redacts the operand of a condition on a masked field, however deep', async () => {
    const args = {
      model: 'Order',
      where: buried(5, { field: 'created_by', op: 'eq', value: 'secret-user-42' }),
    }
    const r = await h.toolset.call(as(ALICE), 'db_query', args)
    expect(r.ok).toBe(false)
    const record = lastRecord()
    expect(JSON.stringify(record)).not.toContain('secret-user-42')
    // Canonical (sorted-key) text on both sides: the memory store keeps records as their canonical text.
    expect(canonicalJson(record?.inputs)).toContain(
      canonicalJson({ kind: 'cmp', field: 'created_by', op: 'eq', value: REDACTED }),
    )
    expect(record?.argsDigest).toBe(digestOf(args))
  })

  it('arguments that do not parse are stored bounded as before, and still digested', async () => {
    const args = { model: 'Order', where: { field: 'status', op: 'no_such_op', value: 'x'.repeat(1000) } }
    const r = await h.toolset.call(as(ALICE), 'db_query', args)
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
    const record = lastRecord()
    expect((record?.inputs as { where: { value: string } }).where.value).toMatch(/…\[1000 chars\]$/)
    expect(record?.argsDigest).toBe(digestOf(args))
  })

  it('the digest is covered by the record hash: editing it breaks the chain', () => {
    const records = h.audit.all()
    expect(verifyAuditChain(records)).toBe(-1)
    const edited = records.map((r, i) => (i === 0 ? { ...r, argsDigest: '0'.repeat(64) } : r))
    expect(verifyAuditChain(edited)).toBe(0)
  })
})
