/**
 * `tessera init [--db URL] [--demo] [--out FILE] [--force]`: write a starter policy. From a live schema
 * (`--db`, default DATABASE_URL) or the embedded demo database (`--demo`) it introspects every table (see
 * starter-policy.ts for the rules); with neither it writes a template. The generated text is parsed and bound
 * to the same schema before it is written, so what `init` writes passes `tessera check` unchanged. An existing
 * file is never overwritten without `--force`; `--out -` prints the policy on stdout.
 */
import { open } from 'node:fs/promises'
import { parse } from 'yaml'
import { createPostgresDatabase, probeDatabase } from '../executor/index.ts'
import { isTesseraError } from '../errors/index.ts'
import { bindPolicy, parsePolicy } from '../policy/index.ts'
import { introspectSchema, type DbSchema } from '../schema/index.ts'
import { EXIT_CODES, plural, type CliOutput, type ExitCode } from './cli-output.ts'
import { openDemoDatabase } from './demo-database.ts'
import { DEMO_APP_ROLE } from './saas-fixture.ts'
import { starterPolicy, TEMPLATE_POLICY, type StarterPolicy } from './starter-policy.ts'

export const DEFAULT_INIT_OUT = 'tessera.policy.yaml'

export interface InitOptions {
  readonly output: CliOutput
  readonly databaseUrl?: string
  /** Introspect the embedded demo database instead of a server. */
  readonly demo?: boolean
  /** Target file, or `-` for stdout. Default tessera.policy.yaml. */
  readonly out?: string
  readonly force?: boolean
  readonly role?: string
  readonly schemas?: readonly string[]
  readonly cacheDir?: string | null
  /** The tenant column's name when init does not recognise it (see starter-policy.ts). */
  readonly tenantColumn?: string
}

export async function runInit(options: InitOptions): Promise<ExitCode> {
  const { output } = options
  const out = options.out ?? DEFAULT_INIT_OUT
  if (options.demo === true && options.databaseUrl !== undefined) {
    output.problem('tessera init: give --db or --demo, not both')
    return EXIT_CODES.invalid
  }
  let starter: StarterPolicy | null = null
  let text = TEMPLATE_POLICY
  try {
    const read = await readSchema(options)
    if (read !== null) {
      starter = starterPolicy(
        read.schema,
        read.source,
        options.tenantColumn === undefined ? {} : { tenantColumn: options.tenantColumn },
      )
      text = starter.text
      const schema = read.schema
      output.detail(`checking the generated policy against ${read.source}`)
      bindPolicy(parsePolicy(parse(text), out), schema)
    } else {
      parsePolicy(parse(text), out)
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const code = isTesseraError(error) ? error.code : 'INIT_FAILED'
    output.data({ ok: false, error: { code, message } })
    output.problem(`${output.paint.fail('✘')} ${message}`)
    return EXIT_CODES.environment
  }

  if (out === '-') {
    output.data({ ok: true, out, template: starter === null, policy: text })
    output.say(text.trimEnd())
    return EXIT_CODES.ok
  }
  const written = await writeNew(out, text, options.force === true)
  if (written !== 'ok') {
    const message =
      written === 'exists'
        ? `${out} already exists; pass --force to overwrite it (or --out to choose another file)`
        : `cannot write ${out}: ${written.message}`
    output.data({
      ok: false,
      error: { code: written === 'exists' ? 'FILE_EXISTS' : 'WRITE_FAILED', message },
    })
    output.problem(`${output.paint.fail('✘')} ${message}`)
    return written === 'exists' ? EXIT_CODES.invalid : EXIT_CODES.environment
  }
  output.data({
    ok: true,
    out,
    template: starter === null,
    models: starter?.models ?? [],
    skipped: starter?.skipped ?? [],
    review: starter?.review ?? [],
  })
  if (starter === null) {
    output.say(`${output.paint.ok('✔')} wrote the template policy ${out} (no database given; use --db URL)`)
  } else {
    output.say(
      `${output.paint.ok('✔')} wrote ${out}: ${plural(starter.models.length, 'model')}, writes disabled`,
    )
    for (const m of starter.models) output.say(`  ${m.name} → ${m.table} ${output.paint.dim(`(${m.kind})`)}`)
    for (const s of starter.skipped) output.say(`  ${output.paint.dim(`skipped ${s.table}: ${s.reason}`)}`)
    if (starter.review.length > 0) {
      output.say(`Review ${plural(starter.review.length, 'decision')} marked REVIEW in the file, then run:`)
    } else {
      output.say('Review the file, then run:')
    }
  }
  output.say(`  tessera check ${out}${options.databaseUrl === undefined ? '' : ' --database-url <url>'}`)
  return EXIT_CODES.ok
}

async function readSchema(options: InitOptions): Promise<{ schema: DbSchema; source: string } | null> {
  const { output } = options
  const introspect = options.schemas === undefined ? {} : { schemas: options.schemas }
  if (options.databaseUrl !== undefined) {
    const database = createPostgresDatabase(options.databaseUrl)
    try {
      const schema = await output.phase('Introspect the database', async () => {
        await probeDatabase(database.db)
        return introspectSchema(database.db, {
          ...introspect,
          ...(options.role === undefined ? {} : { role: options.role }),
        })
      })
      return { schema, source: `a PostgreSQL database (${redact(options.databaseUrl)})` }
    } finally {
      await database.close()
    }
  }
  if (options.demo === true) {
    const database = await openDemoDatabase({
      output,
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    })
    try {
      const schema = await output.phase('Introspect the embedded demo database', () =>
        introspectSchema(database.db, { ...introspect, role: options.role ?? DEMO_APP_ROLE }),
      )
      return { schema, source: 'the embedded demo database' }
    } finally {
      await database.close()
    }
  }
  return null
}

/** Creates the file exclusively unless forced: an existing policy is never replaced by accident. */
async function writeNew(path: string, text: string, force: boolean): Promise<'ok' | 'exists' | Error> {
  try {
    const handle = await open(path, force ? 'w' : 'wx')
    try {
      await handle.writeFile(text, 'utf8')
    } finally {
      await handle.close()
    }
    return 'ok'
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return 'exists'
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** A connection string without its password, for the file header. */
function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return `${parsed.host}${parsed.pathname}`
  } catch {
    return 'the given URL'
  }
}
