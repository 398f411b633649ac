/**
 * `npm run eval` (CI): every suite in evals/, the generated isolation suite of policies/demo.yaml and a seeded
 * fuzz run, on the embedded SaaS fixture. Exits non-zero on any violation or unmet expectation.
 * Options: --policy FILE (run the toolsets under another policy; results are still judged by each suite's own).
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { runEvals, runReportInput, summaryLines } from '../src/eval/index.ts'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const policyAt = args.indexOf('--policy')
const override = policyAt >= 0 ? args[policyAt + 1] : undefined
const files = readdirSync(join(root, 'evals'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(root, 'evals', f))

const report = await runEvals({
  suiteFiles: files,
  defaultPolicyFile: join(root, 'policies', 'demo.yaml'),
  generate: true,
  // Seeded and reproducible; stops early (and says so) on a loaded machine to keep CI within its budget.
  fuzz: { runs: 2000, seed: 20261207, timeLimitMs: 30_000 },
  ...(override === undefined ? {} : { policyOverrideFile: override }),
  onSuite: (s) => console.error(`  ${s.name}: ${s.cases.length} cases`),
})
const f = report.fuzz
for (const line of summaryLines(runReportInput(report))) console.log(line)
if (f) console.log(`\nfuzz: ${f.calls} calls in ${(f.durationMs / 1000).toFixed(1)}s`)
console.log(
  `\n${report.passed ? 'evals passed' : 'EVALS FAILED'} in ${(report.durationMs / 1000).toFixed(1)}s`,
)
process.exitCode = report.passed ? 0 : 1
