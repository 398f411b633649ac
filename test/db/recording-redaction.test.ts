import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import type { Principal } from '../../src/context/index.ts'
import {
  parseRecording,
  recordingFile,
  recordingToolset,
  replayCalls,
  replayLines,
} from '../../src/eval/index.ts'
import type { PolicyInput } from '../../src/policy/policy-schema.ts'
import { describeEachDatabase, type TestDatabase } from '../support/databases.ts'
import { toolsetFor } from '../support/toolset.ts'

const TENANT_A = 'a0000000-0000-4000-8000-000000000000'
const ALICE_ID = 'a0000000-0000-4000-8000-0000000000a1'
const alice: Principal = { tenantId: TENANT_A, userId: ALICE_ID, roles: ['admin'] }

/** `password_hash` denied, `email` masked, `api_token` readable and writable (a secret by its name alone). */
function policy(passwordHash: 'deny' | 'allow' = 'deny'): PolicyInput {
  return {
    models: {
      User: {
        table: 'users',
        fields: {
          id: 'allow',
          tenant_id: 'allow',
          name: 'allow',
          role: 'allow',
          email: 'mask',
          password_hash: passwordHash,
          api_token: 'allow',
          created_at: 'allow',
        },
        scoping: { tenant_id: 'principal.tenantId' },
        write: { create: 'deny', update: 'allow', delete: 'deny', immutableFields: ['tenant_id'] },
      },
    },
  }
}

/** Values that must never reach a recording file. */
const SECRETS = ['hunter2', 'hunter3', 'tok-new-s3cret', 'write-hash-value', 'alice@acme.test']

const SESSION: [string, Record<string, unknown>][] = [
  ['db_query', { model: 'User', where: { field: 'password_hash', op: 'eq', value: 'hunter2' } }],
  [
    'db_query',
    {
      model: 'User',
      where: {
        and: [
          { field: 'name', op: 'eq', value: 'Alice Admin' },
          { field: 'password_hash', op: 'in', value: ['hunter2', 'hunter3'] },
        ],
      },
    },
  ],
  [
    'db_query',
    { model: 'User', select: ['id', 'name'], where: { field: 'email', op: 'eq', value: 'alice@acme.test' } },
  ],
  ['db_update', { model: 'User', id: ALICE_ID, data: { password_hash: 'write-hash-value' } }],
  ['db_update', { model: 'User', id: ALICE_ID, data: { api_token: 'tok-new-s3cret' } }],
  [
    'db_query',
    { model: 'User', select: ['id', 'name'], where: { field: 'name', op: 'eq', value: 'Alice Admin' } },
  ],
]

async function record(db: TestDatabase, file: string): Promise<void> {
  const { toolset: inner } = await toolsetFor(db, policy())
  const sink = recordingFile(file, inner.bound)
  const toolset = recordingToolset(inner, sink)
  for (const [tool, args] of SESSION) await toolset.call({ principal: alice }, tool, args)
  sink.close()
}

describeEachDatabase('call recordings redact secrets like the audit does', (db) => {
  let file = ''

  it('writes no filter operand aimed at a denied or masked field and no secret write value to the file', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'tessera-record-')), 'session.jsonl')
    await record(db(), file)
    const text = readFileSync(file, 'utf8')
    for (const secret of SECRETS) expect(text).not.toContain(secret)
    const { calls } = parseRecording(text, file)
    expect(calls.map((c) => c.args)).toEqual([
      { model: 'User', where: { field: 'password_hash', op: 'eq', value: '[REDACTED]' } },
      {
        model: 'User',
        where: {
          and: [
            { field: 'name', op: 'eq', value: 'Alice Admin' },
            { field: 'password_hash', op: 'in', value: ['[REDACTED]', '[REDACTED]'] },
          ],
        },
      },
      {
        model: 'User',
        select: ['id', 'name'],
        where: { field: 'email', op: 'eq', value: '[REDACTED]' },
      },
      { model: 'User', id: ALICE_ID, data: { password_hash: '[REDACTED]' } },
      { model: 'User', id: ALICE_ID, data: { api_token: '[REDACTED]' } },
      // Everything else is kept as sent, so it replays as sent.
      SESSION[5]?.[1],
    ])
    // The write of api_token (allowed) did happen with the real value; only the recording lacks it.
    const { rows } = await db().adminPool.query<{ api_token: string }>(
      'select api_token from users where id = $1',
      [ALICE_ID],
    )
    expect(rows[0]?.api_token).toBe('tok-new-s3cret')
  })

  it('replays a redacted recording under the same policy with the same refusals, flagging the redacted write', async () => {
    const { calls } = parseRecording(readFileSync(file, 'utf8'), file)
    const { toolset } = await toolsetFor(db(), policy())
    const report = await replayCalls(toolset, calls)
    expect(report.calls.map((c) => (c.after.ok ? 'ok' : c.after.code))).toEqual(
      calls.map((c) => (c.outcome.ok ? 'ok' : c.outcome.code)),
    )
    expect(report.calls.map((c) => c.argsRedacted)).toEqual([true, true, true, true, true, false])
    // Refusals do not depend on the value; the allowed api_token write now writes the text `[REDACTED]`.
    expect(report.changed.map((c) => [c.seq, c.change, c.rowsAltered])).toEqual([
      [5, 'rows-changed', [JSON.stringify([ALICE_ID])]],
    ])
    expect(replayLines(report).join('\n')).not.toContain('hunter2')
  })

  it('replays a redacted filter value as the text [REDACTED] under a policy that newly allows the field', async () => {
    const { calls } = parseRecording(readFileSync(file, 'utf8'), file)
    const { toolset } = await toolsetFor(db(), policy('allow'))
    const report = await replayCalls(toolset, calls)
    const first = report.calls[0]
    expect(first?.change).toBe('newly-allowed')
    // The filter compared password_hash with '[REDACTED]', not with the value the agent typed: no rows.
    expect(first?.after).toEqual({ ok: true, rows: {}, digest: expect.any(String) })
    expect(replayLines(report).join('\n')).toContain(
      'newly-allowed  #1 db_query User as tenant "a0000000-0000-4000-8000-000000000000": FIELD_NOT_ALLOWED → ok, 0 rows (replayed with [REDACTED] for a value not recorded)',
    )
  })
})
