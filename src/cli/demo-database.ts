/**
 * The embedded demo database (PGlite with the SaaS fixture), started from a cached data directory. Creating it
 * from SQL costs initdb plus seeding (seconds); loading a dump of the finished database costs a fraction of that.
 * The dump lives in `$XDG_CACHE_HOME/tessera` (default `~/.cache/tessera`), keyed by the fixture text and the
 * PGlite version, so a changed fixture or engine never loads a stale image. A cache that cannot be read or
 * written is ignored (the database is then built from SQL, as without a cache).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPgliteDatabase, type PgliteDatabase } from '../executor/index.ts'
import type { CliOutput } from './cli-output.ts'
import { saasFixtureSql } from './saas-fixture.ts'

export interface DemoDatabaseOptions {
  readonly output: CliOutput
  /** Directory for the cached image; `null` turns the cache off. Default: see defaultCacheDir. */
  readonly cacheDir?: string | null
}

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache')
  return join(base, 'tessera')
}

export async function openDemoDatabase(options: DemoDatabaseOptions): Promise<PgliteDatabase> {
  const { output } = options
  const sql = saasFixtureSql()
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir
  const file = cacheDir === null ? null : join(cacheDir, `demo-${cacheKey(sql)}.tar`)

  const cached = file === null ? null : readCache(file)
  if (cached !== null) {
    try {
      return await output.phase('Start the embedded database from the cached image', () =>
        createPgliteDatabase({ loadDataDir: new Blob([cached]) }),
      )
    } catch (error) {
      output.detail(`cached image ${file ?? ''} unusable (${String(error)}); rebuilding it`)
    }
  }
  const database = await output.phase('Start the embedded database', () => createPgliteDatabase())
  try {
    await output.phase('Load the SaaS fixture', () => database.pglite.exec(sql))
    if (file !== null) {
      await output.phase('Cache the database image', async () => {
        const dump = await database.pglite.dumpDataDir('none')
        writeCache(file, new Uint8Array(await dump.arrayBuffer()), output)
      })
    }
    return database
  } catch (error) {
    await database.close()
    throw error
  }
}

function cacheKey(sql: string): string {
  return createHash('sha256').update(pgliteVersion()).update('\0').update(sql).digest('hex').slice(0, 16)
}

/** The installed PGlite's version (its package.json is not exported, so find it next to the entry point). */
function pgliteVersion(): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')))
    for (let i = 0; i < 4; i += 1) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: string
          version?: string
        }
        if (pkg.name === '@electric-sql/pglite' && typeof pkg.version === 'string') return pkg.version
      } catch {
        // not this directory; keep walking up
      }
      dir = dirname(dir)
    }
  } catch {
    // not installed: createPgliteDatabase reports that with the install command
  }
  return 'unknown'
}

function readCache(file: string): Uint8Array | null {
  try {
    return readFileSync(file)
  } catch {
    return null
  }
}

/** Written to a temporary name first, then renamed: a concurrent or interrupted run never sees half a file. */
function writeCache(file: string, bytes: Uint8Array, output: CliOutput): void {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(temporary, bytes)
    renameSync(temporary, file)
    output.detail(`cached the demo database image at ${file}`)
  } catch (error) {
    rmSync(temporary, { force: true })
    output.detail(`could not cache the demo database image at ${file}: ${String(error)}`)
  }
}
