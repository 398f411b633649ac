/**
 * Regression (outside attack suite, issue 9 item 10): `requireReason` took a reason made of letters that render
 * as nothing (Hangul fillers U+3164, U+115F, U+1160, U+FFA0) or of the braille blank U+2800. A reason now needs
 * at least `reasonMinCharacters` (default 3) visible letters or digits.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { PolicyInput } from '../../src/policy/index.ts'
import { visibleLetterCount } from '../../src/request/index.ts'
import { describeEachDatabase } from '../support/databases.ts'
import { ALICE, as, ORDER_A1 } from '../support/saas.ts'
import { type ToolsetHarness, toolsetFor } from '../support/toolset.ts'
import { rowJson } from '../support/write-helpers.ts'
import { scopedOrder } from '../support/scoped-order.ts'

function policy(reasonMinCharacters?: number): PolicyInput {
  return {
    models: {
      Order: scopedOrder(
        { id: 'allow', status: 'allow' },
        {
          write: {
            update: 'allow',
            requireReason: true,
            ...(reasonMinCharacters === undefined ? {} : { reasonMinCharacters }),
          },
        },
      ),
    },
  }
}

describeEachDatabase('a required reason has visible letters', (db) => {
  let h: ToolsetHarness
  beforeAll(async () => {
    h = await toolsetFor(db(), policy())
  })

  it.each<[string, string]>([
    ['Hangul fillers U+3164', '\u3164\u3164\u3164\u3164\u3164'],
    ['Hangul choseong and jungseong fillers U+115F U+1160', '\u115f\u1160\u115f\u1160'],
    ['halfwidth Hangul fillers U+FFA0', '\uffa0\uffa0\uffa0\uffa0'],
    ['braille blanks U+2800', '\u2800\u2800\u2800\u2800'],
    ['two letters hidden among invisible ones', 'o\u3164\u200bk\u2800\u2800'],
    ['punctuation and symbols only', '!!! --- *** ✓✓✓'],
    ['two letters', 'ok'],
  ])('refuses a reason of %s, changing nothing', async (_name, reason) => {
    const before = await rowJson(db(), 'orders', ORDER_A1)
    const r = await h.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'invisible' },
      reason,
    })
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION_ERROR',
        details: { issues: [{ path: 'reason', message: expect.stringContaining('at least 3 visible') }] },
      },
    })
    expect(await rowJson(db(), 'orders', ORDER_A1)).toBe(before)
  })

  it.each([['refund #42'], ['Änderung'], ['返金対応'], ['No. 421']])(
    'accepts the reason %j',
    async (reason) => {
      const { row } = await h.toolset.update(as(ALICE), {
        model: 'Order',
        id: ORDER_A1,
        data: { status: 'paid' },
        reason,
      })
      expect(row['status']).toBe('paid')
    },
  )

  it('honours a policy that asks for more visible characters', async () => {
    const strict = await toolsetFor(db(), policy(10))
    const r = await strict.toolset.call(as(ALICE), 'db_update', {
      model: 'Order',
      id: ORDER_A1,
      data: { status: 'paid' },
      reason: 'refund 42',
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } })
  })
})

describe('visibleLetterCount', () => {
  it('counts letters and digits that render, nothing else', () => {
    expect(visibleLetterCount('a\u3164b\u115fc\u1160d\uffa0e\u2800')).toBe(5)
    expect(visibleLetterCount('\u200b\u200d\u2060\ufeff\u034f\ufe0f')).toBe(0)
    expect(visibleLetterCount('x1 y2')).toBe(4)
  })
})
