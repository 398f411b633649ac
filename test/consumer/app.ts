// Type-checked (not run) in the throwaway app with the config `tsc --init` writes (strict, NodeNext): the
// published declarations must compile in a default project, through every public entry point.
import { createToolset, definePolicy, isTesseraError, type RunContext, type Toolset } from 'tessera-db'
import { createPgliteDatabase } from 'tessera-db/embedded'
import { loadPolicyFile } from 'tessera-db/policy'
import { introspectSchema } from 'tessera-db/schema'
import { MemoryAuditStore } from 'tessera-db/audit'

export async function listNotes(ctx: RunContext): Promise<string[]> {
  const database = await createPgliteDatabase()
  try {
    const policy = definePolicy({
      models: {
        Note: {
          table: 'notes',
          fields: { id: 'allow', title: 'allow' },
          scoping: { tenant_id: 'principal.tenantId' },
        },
      },
    })
    const toolset: Toolset = await createToolset({ db: database.db, policy, audit: new MemoryAuditStore() })
    const result = await toolset.query(ctx, { model: 'Note' })
    return result.rows.map((row) => String(row['title']))
  } catch (error) {
    if (isTesseraError(error)) return [error.code]
    throw error
  } finally {
    await database.close()
  }
}

export const loaders = { loadPolicyFile, introspectSchema }

// Typed from a database type through the published declarations: writes, delete and bulkUpdate included.
interface NotesDb {
  notes: { id: number; tenant_id: string; title: string; author_email: string; api_token: string }
}

export async function archiveNotes(
  toolset: Awaited<ReturnType<typeof typedToolset>>,
  ctx: RunContext,
): Promise<{ soft: boolean; updated: number }> {
  const renamed = await toolset.bulkUpdate(ctx, { model: 'Note', ids: [1, 2], data: { title: 'Archived' } })
  const removed = await toolset.delete(ctx, { model: 'Note', id: 3, reason: 'duplicate' })
  return { soft: removed.soft, updated: renamed.updated }
}

export async function typedToolset(db: Parameters<typeof createToolset>[0]['db']) {
  const policy = definePolicy<NotesDb>()({
    models: {
      Note: {
        table: 'notes',
        fields: { id: 'allow', title: 'allow' },
        scoping: { tenant_id: 'principal.tenantId' },
        write: { update: 'allow', delete: 'allow' },
      },
    },
  })
  return createToolset({ db, policy })
}
