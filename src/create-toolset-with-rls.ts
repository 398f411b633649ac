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
} from './tools/index.ts'

export function createToolset<DB, M>(options: TypedToolsetOptions<DB, M>): Promise<TypedToolset<DB, M>>
export function createToolset(options: ToolsetOptions): Promise<Toolset>
export async function createToolset(options: ToolsetOptions): Promise<Toolset> {
  return createBareToolset({
    ...options,
    // Always the real check: a caller cannot swap in a gate that waves RLS through.
    rlsPosture: async ({ db, bound, role }) => {
      // Judged at the `both` level in either mode: a toolset's writes check that every referenced row is
      // visible in every enforcement mode, so a single-column foreign key is a warning here. `tessera check
      // --rls rls` judges the database as the only wall (for clients other than Tessera) and fails on it.
      const report = await inspectRlsPosture(db, bound, generateRls(bound), {
        enforcement: 'both',
        ...(role === undefined ? {} : { role }),
      })
      return {
        problems: report.findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`),
      }
    },
  })
}
