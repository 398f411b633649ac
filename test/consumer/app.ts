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
