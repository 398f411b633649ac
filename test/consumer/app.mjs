// A plain ESM application using the installed tarball: creates a toolset on PGlite and queries it as a tenant.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { URL } from 'node:url'
import { createPgliteDatabase, createToolset, definePolicy } from 'tessera-db'

const database = await createPgliteDatabase()
try {
  await database.pglite.exec(readFileSync(new URL('./schema.sql', import.meta.url), 'utf8'))
  const policy = definePolicy({
    models: {
      Note: {
        table: 'notes',
        fields: { id: 'allow', title: 'allow', author_email: 'mask', api_token: 'deny' },
        scoping: { tenant_id: 'principal.tenantId' },
      },
    },
  })
  const toolset = await createToolset({
    db: database.db,
    policy,
    secret: 'consumer-test-secret-0123456789abcdef',
    role: 'consumer_app',
  })
  const north = { principal: { tenantId: 'north' } }
  const { rows } = await toolset.query(north, { model: 'Note', orderBy: [{ field: 'id' }] })
  assert.deepEqual(
    rows.map((r) => r.title),
    ['Kick-off', 'Retro'],
  )
  assert.ok(rows.every((r) => !('api_token' in r) && r.author_email !== 'ann@north.example'))
  const denied = await toolset.call(north, 'db_query', { model: 'Note', select: ['api_token'] })
  assert.equal(denied.ok, false)
  console.log(`consumer .mjs: ${rows.length} rows for tenant north, masked email ${rows[0].author_email}`)
} finally {
  await database.close()
}
