/**
 * How every `tessera` command talks, the way Prisma, Drizzle Kit and the Supabase CLI do: results on stdout
 * (one JSON document per line with `--json`, narrated text otherwise), progress and problems on stderr, colours
 * only for a terminal (never with `--json`, `NO_COLOR` or `TERM=dumb`), a spinner for slow phases only when
 * stderr is a terminal, and phase timings with `--verbose`. Exit codes are fixed (see EXIT_CODES).
 */

/** 0 ok; 1 the input or the policy is invalid (fix the file or the flags); 2 the environment failed. */
export const EXIT_CODES = { ok: 0, invalid: 1, environment: 2 } as const
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]

export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  success',
  '  1  invalid input or policy (the message says what to fix)',
  '  2  environment problem (database unreachable, missing dependency, unreadable file)',
  '',
  'Environment:',
  '  DATABASE_URL     default for --database-url',
  '  TESSERA_POLICY   default policy file',
  '  NO_COLOR         turn colours off (they are also off when stdout is not a terminal and with --json)',
].join('\n')

/** A place lines go: process.stdout/stderr in the CLI, arrays in tests. */
export interface LineSink {
  readonly write: (text: string) => void
  readonly isTTY?: boolean
}

export interface CliOutputOptions {
  readonly json?: boolean
  readonly verbose?: boolean
  readonly stdout: LineSink
  readonly stderr: LineSink
  readonly env?: Readonly<Record<string, string | undefined>>
}

export interface PhaseTiming {
  readonly label: string
  readonly ms: number
}

export interface CliOutput {
  readonly json: boolean
  readonly verbose: boolean
  readonly color: boolean
  /** Narration for people: printed in text mode, dropped with `--json`. */
  say(text: string): void
  /** One machine-readable JSON document on its own line (only with `--json`). */
  data(value: unknown): void
  /** A problem, on stderr, in either mode. */
  problem(text: string): void
  /** Extra detail, on stderr, only with `--verbose`. */
  detail(text: string): void
  readonly paint: Paint
  /** Runs a slow step: a spinner on a terminal, its duration on stderr with `--verbose`. */
  phase<T>(label: string, work: () => Promise<T>): Promise<T>
  timings(): readonly PhaseTiming[]
}

export interface Paint {
  ok(text: string): string
  fail(text: string): string
  dim(text: string): string
  bold(text: string): string
}

const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export function createCliOutput(options: CliOutputOptions): CliOutput {
  const json = options.json === true
  const verbose = options.verbose === true
  const env = options.env ?? {}
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== ''
  const color = !json && !noColor && env['TERM'] !== 'dumb' && options.stdout.isTTY === true
  const spin = !json && options.stderr.isTTY === true && env['CI'] === undefined
  const ansi = (open: number, close: number) => (text: string) =>
    color ? `\u001b[${open}m${text}\u001b[${close}m` : text
  const paint: Paint = { ok: ansi(32, 39), fail: ansi(31, 39), dim: ansi(2, 22), bold: ansi(1, 22) }
  const recorded: PhaseTiming[] = []
  const out = (text: string): void => options.stdout.write(`${text}\n`)
  const err = (text: string): void => options.stderr.write(`${text}\n`)

  return {
    json,
    verbose,
    color,
    paint,
    say: (text) => {
      if (!json) out(text)
    },
    data: (value) => {
      if (json) out(JSON.stringify(value))
    },
    problem: err,
    detail: (text) => {
      if (verbose) err(text)
    },
    async phase(label, work) {
      const started = performance.now()
      let frame = 0
      const draw = (): void => {
        options.stderr.write(`\r${SPINNER_FRAMES[frame % SPINNER_FRAMES.length] ?? ''} ${label}…`)
        frame += 1
      }
      let timer: ReturnType<typeof setInterval> | undefined
      if (spin) {
        draw()
        timer = setInterval(draw, 80)
      }
      try {
        return await work()
      } finally {
        if (timer !== undefined) clearInterval(timer)
        if (spin) options.stderr.write('\r\u001b[2K')
        const ms = performance.now() - started
        recorded.push({ label, ms })
        if (verbose) err(`${paint.dim(`⏱ ${label}: ${Math.round(ms)} ms`)}`)
      }
    },
    timings: () => [...recorded],
  }
}

/** The output of the real CLI: process streams and environment. */
export function processCliOutput(flags: { readonly json?: boolean; readonly verbose?: boolean }): CliOutput {
  return createCliOutput({
    ...flags,
    stdout: { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true },
    stderr: { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    env: process.env,
  })
}

/** An output that collects lines, for tests and for callers embedding a command. */
export function memoryCliOutput(flags: { readonly json?: boolean; readonly verbose?: boolean } = {}): {
  readonly output: CliOutput
  readonly stdout: string[]
  readonly stderr: string[]
} {
  const stdout: string[] = []
  const stderr: string[] = []
  const lines = (into: string[]) => (text: string) => into.push(...text.replace(/\n$/, '').split('\n'))
  const output = createCliOutput({
    ...flags,
    stdout: { write: lines(stdout) },
    stderr: { write: lines(stderr) },
  })
  return { output, stdout, stderr }
}

/** "1 model", "8 models". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
