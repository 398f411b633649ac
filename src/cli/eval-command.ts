/**
 * `tessera eval [files…]`: runs eval suites (default: `evals/*.yaml` in the working directory), optionally the
 * generated isolation suite of a policy and a seeded fuzz run, on the embedded SaaS fixture or a PostgreSQL
 * database, and prints a summary table (JSON with `--json` or `--report json`; JUnit XML on stdout with
 * `--report junit`, or to a file with `--junit FILE`).
 * Exit codes follow cli-output.ts: 0 every case passed; 1 a case failed or a violation was found, or the
 * input is invalid (a suite, a policy, a flag); 2 the environment failed (database, unreadable file).
 */
import { readdirSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { isTesseraError, printable } from '../errors/index.ts'
import {
  jsonReport,
  junitXml,
  runEvals,
  runReportInput,
  suitePassed,
  suiteToYaml,
  summaryLines,
  type EvalRunOptions,
} from '../eval/index.ts'
import { registerReplayCommand } from './replay-command.ts'
import { EXIT_CODES, processCliOutput, type CliOutput, type ExitCode } from './cli-output.ts'

export interface EvalCommandOptions {
  /** Suite files or folders (a folder contributes its `*.yaml`); empty: `<cwd>/evals`. */
  readonly files: readonly string[]
  readonly policy?: string
  /** Run every toolset under this policy; results are still judged by each suite's own. */
  readonly candidate?: string
  readonly db?: string
  readonly role?: string
  readonly generate?: boolean
  /** Write the generated suite here as YAML. */
  readonly writeGenerated?: string
  /** Fuzz calls (0 or absent: no fuzzing). */
  readonly fuzz?: string
  readonly seed?: string
  readonly fuzzTimeLimit?: string
  readonly junit?: string
  /**
   * `junit`: stdout carries only the JUnit XML report (through `writeReport`); pass an output made with
   * `json: true` so narration stays off stdout. `json` is the output's own `--json` mode.
   */
  readonly report?: EvalReportFormat
  /** Where `report: 'junit'` writes the XML (default: process.stdout). */
  readonly writeReport?: (text: string) => void
  readonly cwd?: string
  readonly output: CliOutput
  /** Draw a progress line on stderr (the CLI does on a terminal). */
  readonly progress?: (text: string) => void
}

class UsageError extends Error {}

export const EVAL_REPORT_FORMATS = ['json', 'junit'] as const
export type EvalReportFormat = (typeof EVAL_REPORT_FORMATS)[number]

/**
 * `--report json|junit` (the spelling of the issue) next to the older `--json` and `--junit FILE`, which stay
 * as aliases: `--report json` is `--json`; `--report junit` prints the XML on stdout, so stdout must carry
 * nothing else (the output runs in its JSON mode, whose narration is dropped, and no JSON document is printed).
 */
export function evalReportMode(flags: { readonly json?: boolean; readonly report?: string }): {
  readonly json: boolean
  readonly report?: EvalReportFormat
} {
  const report = flags.report
  if (report === undefined) return { json: flags.json === true }
  if (!(EVAL_REPORT_FORMATS as readonly string[]).includes(report)) {
    throw new UsageError(
      `--report must be one of ${EVAL_REPORT_FORMATS.join(', ')} (got '${printable(report)}')`,
    )
  }
  if (report === 'junit' && flags.json === true)
    throw new UsageError('--report junit cannot be combined with --json')
  return { json: true, report: report as EvalReportFormat }
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer`)
  return n
}

/** Files given, folders expanded to their sorted `*.yaml`, or the working directory's `evals/` folder. */
export function suiteFiles(given: readonly string[], cwd: string): string[] {
  const expand = (path: string): string[] => {
    let isDir = false
    try {
      isDir = statSync(path).isDirectory()
    } catch {
      return [path] // reading it reports the problem with its name
    }
    if (!isDir) return [path]
    return readdirSync(path)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort()
      .map((f) => join(path, f))
  }
  if (given.length > 0) return given.flatMap((f) => expand(resolve(cwd, f)))
  const folder = join(cwd, 'evals')
  try {
    return statSync(folder).isDirectory() ? expand(folder) : []
  } catch {
    return []
  }
}

export async function runEvalCommand(options: EvalCommandOptions): Promise<ExitCode> {
  const { output } = options
  const cwd = options.cwd ?? process.cwd()
  const junitOnStdout = options.report === 'junit'
  // With the XML on stdout, a JSON document there would corrupt it; problems still reach stderr.
  const data = (value: unknown): void => {
    if (!junitOnStdout) output.data(value)
  }
  try {
    const files = suiteFiles(options.files, cwd)
    const fuzzRuns = options.fuzz === undefined ? 0 : positiveInt(options.fuzz, '--fuzz')
    if (files.length === 0 && options.generate !== true && fuzzRuns === 0) {
      throw new UsageError(
        `No eval suites: ${join(cwd, 'evals')} has no .yaml files and none were named (or use --generate / --fuzz N)`,
      )
    }
    if (options.writeGenerated !== undefined && options.generate !== true) {
      throw new UsageError('--write-generated needs --generate')
    }
    // A random seed is printed, so a failing run can be repeated with --seed.
    const seed =
      options.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInt(options.seed, '--seed')
    if (options.db !== undefined) {
      output.problem(
        output.paint.dim(
          'Note: write cases run against this database and are not undone: point --db at a disposable copy.',
        ),
      )
    }
    let cases = 0
    let failedCases = 0
    let generated: string | undefined
    const runOptions: EvalRunOptions = {
      suiteFiles: files,
      ...(options.policy === undefined ? {} : { defaultPolicyFile: resolve(cwd, options.policy) }),
      ...(options.candidate === undefined ? {} : { policyOverrideFile: resolve(cwd, options.candidate) }),
      ...(options.db === undefined ? {} : { databaseUrl: options.db }),
      ...(options.role === undefined ? {} : { role: options.role }),
      ...(options.generate === true ? { generate: true } : {}),
      ...(fuzzRuns > 0
        ? {
            fuzz: {
              runs: fuzzRuns,
              seed,
              ...(options.fuzzTimeLimit === undefined
                ? {}
                : { timeLimitMs: positiveInt(options.fuzzTimeLimit, '--fuzz-time-limit') * 1000 }),
              onCall: (done: number) => options.progress?.(`fuzz: ${done} calls`),
            },
          }
        : {}),
      onCase: (c) => {
        cases += 1
        if (c.failures.length > 0 || c.violations.length > 0) failedCases += 1
        options.progress?.(`${cases} cases, ${failedCases} failed — ${c.suite}`)
      },
      onSuite: (s) => {
        options.progress?.('')
        const mark = suitePassed(s) ? output.paint.ok('✔') : output.paint.fail('✘')
        if (!output.json) output.problem(`${mark} ${s.name} (${s.cases.length} cases)`)
      },
      onGenerated: (suite) => {
        generated = suiteToYaml(suite)
      },
    }
    const report = await runEvals(runOptions)
    options.progress?.('')
    if (options.writeGenerated !== undefined && generated !== undefined) {
      await writeFile(resolve(cwd, options.writeGenerated), generated)
      output.problem(`Generated suite written to ${options.writeGenerated}`)
    }
    const input = runReportInput(report)
    if (options.junit !== undefined) await writeFile(resolve(cwd, options.junit), `${junitXml(input)}\n`)
    if (junitOnStdout) (options.writeReport ?? ((t) => process.stdout.write(t)))(`${junitXml(input)}\n`)
    else if (output.json) output.data(JSON.parse(jsonReport(input)))
    // With the XML on stdout the summary goes to stderr, where people still see it.
    for (const line of summaryLines(input)) (junitOnStdout ? output.problem : output.say)(line)
    const f = report.fuzz
    if (f !== null) {
      output.say(
        `\nfuzz: ${f.calls} calls in ${(f.durationMs / 1000).toFixed(1)}s (seed ${f.seed}; repeat with --seed ${f.seed})`,
      )
    }
    const seconds = (report.durationMs / 1000).toFixed(1)
    output.say(
      report.passed
        ? `\n${output.paint.ok('evals passed')} in ${seconds}s`
        : `\n${output.paint.fail('EVALS FAILED')} in ${seconds}s`,
    )
    return report.passed ? EXIT_CODES.ok : EXIT_CODES.invalid
  } catch (error) {
    if (error instanceof UsageError) {
      data({ ok: false, error: { code: 'USAGE', message: error.message } })
      output.problem(`${output.paint.fail('✘')} ${error.message}`)
      return EXIT_CODES.invalid
    }
    if (isTesseraError(error)) {
      // A suite or policy that does not load is the user's to fix; anything else is the environment.
      const invalid = error.code === 'POLICY_INVALID' || error.code === 'VALIDATION_ERROR'
      data({ ok: false, error: error.toJSON() })
      output.problem(`${output.paint.fail('✘')} ${error.code}: ${error.message}`)
      for (const hint of error.hints) output.problem(`  hint: ${hint}`)
      return invalid ? EXIT_CODES.invalid : EXIT_CODES.environment
    }
    const message = error instanceof Error ? error.message : String(error)
    data({ ok: false, error: { code: 'EVAL_FAILED', message } })
    output.problem(`${output.paint.fail('✘')} eval could not run: ${message}`)
    return EXIT_CODES.environment
  }
}

interface EvalFlags {
  readonly policy?: string
  readonly candidate?: string
  readonly db?: string
  readonly role?: string
  readonly generate?: boolean
  readonly writeGenerated?: string
  readonly fuzz?: string
  readonly seed?: string
  readonly fuzzTimeLimit?: string
  readonly junit?: string
  readonly json?: boolean
  readonly report?: string
  readonly verbose?: boolean
}

/** Adds `tessera eval` to the program (main.ts loads this module only when the command runs). */
export function registerEvalCommand(program: Command): Command {
  const command = program
    .command('eval')
    .description(
      'Run eval suites (evals/*.yaml), a generated isolation suite and a fuzz run against a policy',
    )
    .argument('[files...]', 'suite files or folders (default: ./evals)')
    .option('--policy <file>', 'policy for suites that name none, for --generate and --fuzz')
    .option('--candidate <file>', "run every toolset under this policy, judged by each suite's own")
    .option('--db <url>', 'PostgreSQL connection string (default: the embedded SaaS fixture)')
    .option('--role <role>', 'role the toolset assumes in each transaction')
    .option('--generate', "add the isolation suite generated from --policy and the database's data")
    .option('--write-generated <file>', 'write the generated suite as YAML (to keep in your repository)')
    .option('--fuzz <calls>', 'fuzz this many generated calls under --policy')
    .option('--seed <n>', 'fuzz seed (default: random, printed)')
    .option('--fuzz-time-limit <seconds>', 'stop fuzzing after this long and report the calls made')
    .option('--report <format>', 'print the report on stdout as json (one document) or junit (XML)')
    .option('--junit <file>', 'also write a JUnit XML report to this file')
    .option('--json', 'print the report as one JSON document (same as --report json)')
    .action(async (files: string[], flags: EvalFlags) => {
      let mode: ReturnType<typeof evalReportMode>
      try {
        mode = evalReportMode(flags)
      } catch (error) {
        processCliOutput({}).problem(`✘ ${error instanceof Error ? error.message : String(error)}`)
        process.exitCode = EXIT_CODES.invalid
        return
      }
      const output = processCliOutput({ ...flags, json: mode.json })
      const tty = process.stderr.isTTY === true && !mode.json && process.env['CI'] === undefined
      const { report: _flag, json: _json, ...rest } = flags
      process.exitCode = await runEvalCommand({
        files,
        output,
        ...rest,
        ...(mode.report === undefined ? {} : { report: mode.report }),
        ...(tty ? { progress: (text: string) => process.stderr.write(`\r\u001b[2K${text}`) } : {}),
      })
    })
  registerReplayCommand(command)
  return command
}
