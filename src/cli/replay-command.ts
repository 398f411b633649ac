/**
 * `tessera eval replay --log FILE --policy NEW`: re-runs a recorded session (`tessera serve --record FILE`,
 * or `recordingToolset` in code) under another policy, on the embedded SaaS fixture or `--db URL`, and
 * prints the calls whose outcome changed: newly denied or allowed, another error code, rows added, removed
 * or altered. Exit 0 (1 with `--fail-on-change` when something changed, or when the input is invalid; 2 when
 * the environment failed).
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { isTesseraError } from '../errors/index.ts'
import { harnessFor, loadRecording, openEvalDatabase, replayCalls, replayLines } from '../eval/index.ts'
import { loadPolicyFile } from '../policy/index.ts'
import { EXIT_CODES, processCliOutput, type CliOutput, type ExitCode } from './cli-output.ts'

export interface ReplayCommandOptions {
  readonly log: string
  readonly policy: string
  readonly db?: string
  readonly role?: string
  readonly failOnChange?: boolean
  readonly cwd?: string
  readonly output: CliOutput
}

export async function runReplayCommand(options: ReplayCommandOptions): Promise<ExitCode> {
  const { output } = options
  const cwd = options.cwd ?? process.cwd()
  try {
    const recording = await loadRecording(resolve(cwd, options.log))
    const policy = await loadPolicyFile(resolve(cwd, options.policy))
    const database = await openEvalDatabase({
      ...(options.db === undefined ? {} : { databaseUrl: options.db }),
      ...(options.role === undefined ? {} : { role: options.role }),
    })
    try {
      const { toolset } = await harnessFor(database, { policy })
      const report = await replayCalls(toolset, recording.calls)
      output.data({
        ok: true,
        recordedUnder: recording.header?.policyVersion ?? null,
        replayedUnder: toolset.bound.policy.versionHash,
        calls: report.calls.length,
        changed: report.changed,
      })
      const from = recording.header?.policyVersion.slice(0, 12) ?? 'unknown'
      output.say(
        `Replayed ${report.calls.length} calls recorded under policy ${from} with ${options.policy} (${toolset.bound.policy.versionHash.slice(0, 12)}):`,
      )
      for (const line of replayLines(report)) output.say(line)
      return options.failOnChange === true && report.changed.length > 0 ? EXIT_CODES.invalid : EXIT_CODES.ok
    } finally {
      await database.close()
    }
  } catch (error) {
    if (isTesseraError(error)) {
      const invalid = error.code === 'POLICY_INVALID' || error.code === 'VALIDATION_ERROR'
      output.data({ ok: false, error: error.toJSON() })
      output.problem(`${output.paint.fail('✘')} ${error.code}: ${error.message}`)
      return invalid ? EXIT_CODES.invalid : EXIT_CODES.environment
    }
    const message = error instanceof Error ? error.message : String(error)
    output.data({ ok: false, error: { code: 'REPLAY_FAILED', message } })
    output.problem(`${output.paint.fail('✘')} replay could not run: ${message}`)
    return EXIT_CODES.environment
  }
}

export function registerReplayCommand(evalCommand: Command): void {
  evalCommand
    .command('replay')
    .description('Re-run a recorded session under another policy and print the calls whose results change')
    .requiredOption('--log <file>', 'recorded calls (JSONL, from `tessera serve --record FILE`)')
    .requiredOption('--policy <file>', 'the policy to replay under')
    .option('--db <url>', 'PostgreSQL connection string (default: the embedded SaaS fixture)')
    .option('--role <role>', 'role the toolset assumes in each transaction')
    .option('--fail-on-change', 'exit 1 when any call changed (for CI)')
    .option('--json', 'print one JSON document')
    .action(
      async (flags: {
        log: string
        policy: string
        db?: string
        role?: string
        failOnChange?: boolean
        json?: boolean
      }) => {
        process.exitCode = await runReplayCommand({ ...flags, output: processCliOutput(flags) })
      },
    )
}
