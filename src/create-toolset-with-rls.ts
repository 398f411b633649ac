/**
 * The public createToolset: the tools' createToolset with the RLS posture check plugged in, so `rls` and `both`
 * enforcement start only when the generated row-level security stands for the toolset's role. It lives at the
 * root because the check (src/rls) sits above the tools layer.
 */
import { generateRls, inspectRlsPosture } from './rls/index.ts'
import {
  createToolset as createBareToolset,
  type Toolset,
  type ToolsetOptions,
  type TypedToolset,
  type TypedToolsetOptions,
  writesCheckReferencedRows,
} from './tools/index.ts'

export function createToolset<DB, M>(options: TypedToolsetOptions<DB, M>): Promise<TypedToolset<DB, M>>
export function createToolset(options: ToolsetOptions): Promise<Toolset>
export async function createToolset(options: ToolsetOptions): Promise<Toolset> {
  return createBareToolset({
    ...options,
    // Always the real check: a caller cannot swap in a gate that waves RLS through.
    rlsPosture: async ({ db, bound, enforcement, role }) => {
      // The toolset's writes decide whether a single-column foreign key matters (writesCheckReferencedRows):
      // `tessera check --rls rls` judges the database as the only wall, for clients other than Tessera.
      const report = await inspectRlsPosture(db, bound, generateRls(bound), {
        enforcement,
        referencedRowsChecked: writesCheckReferencedRows(enforcement),
        ...(role === undefined ? {} : { role }),
      })
      return {
        problems: report.findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`),
      }
    },
  })
}
