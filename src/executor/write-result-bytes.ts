/**
 * The byte budget (`budget.maxResultBytes`, docs/decisions.md "Result bytes") on what a write hands back: the
 * rows it returns and their before images, in the JSON they are answered and audited in. A read counts its rows
 * in its statement (src/sql/print-result-budget.ts); a write's rows are already bounded in number (at most
 * maxAffectedRows, never more than the keys it names), so they are counted here, inside the write's
 * transaction: a write over the budget is refused and rolled back, nothing written. A self-deciding write
 * (run-write.ts selfDecidingWrite) returns one row, which, like one read row, is not held against the budget.
 */
import { budgetExceeded } from '../errors/index.ts'
import type { WritePlan } from '../planner/index.ts'
import type { Row } from './shape-rows.ts'

export function checkWriteResultBytes(
  plan: Pick<WritePlan, 'maxResultBytes'>,
  images: readonly (readonly Row[])[],
): void {
  let bytes = 0
  for (const rows of images) {
    // The text the rows are answered in; they are JSON-safe once shaped (shape-rows.ts).
    if (rows.length > 0) bytes += Buffer.byteLength(JSON.stringify(rows))
  }
  if (bytes > plan.maxResultBytes) throw budgetExceeded('max_result_bytes', plan.maxResultBytes, undefined)
}
