/**
 * Regression: describe_schema listed `primaryKey: ['id']` for a model whose `id` the policy denies, naming a
 * denied field; and `get`/`update` by a guessed hidden id answered found / not found. A primary key that is
 * not plainly readable is now a policy load error, so neither can happen.
 */
import { describe, expect, it } from 'vitest'
import { bindSynthetic } from '../support/synthetic-schema.ts'

describe('a primary key that is not allow', () => {
  it.each(['deny', 'mask', 'hash'] as const)(
    'fails to load when the key column is %s, naming the field',
    (action) => {
      expect(() =>
        bindSynthetic({
          models: {
            Widget: {
              table: 'widgets',
              fields: { id: action, name: 'allow' },
              scoping: { tenant_id: 'principal.tenantId' },
            },
          },
        }),
      ).toThrow(
        expect.objectContaining({
          code: 'POLICY_INVALID',
          message: expect.stringContaining('models.Widget.fields.id'),
        }),
      )
    },
  )

  it('also fails when the key is hidden by the default field action', () => {
    expect(() =>
      bindSynthetic({
        models: {
          Widget: {
            table: 'widgets',
            fields: { name: 'allow' },
            scoping: { tenant_id: 'principal.tenantId' },
          },
        },
      }),
    ).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }))
  })
})
