/**
 * The embedded demo database (PGlite with the SaaS fixture), started from a cached data directory. Creating it
 * from SQL costs initdb plus seeding (seconds); loading a dump of the finished database costs a fraction of that.
 * The dump lives in `$XDG_CACHE_HOME/tessera` (default `~/.cache/tessera`), keyed by the fixture text, the
 * PGlite version and the recipe below, so a changed fixture, engine or recipe never loads a stale image. The
 * file starts with the SHA-256 of the image, checked before loading: a truncated or damaged file is rebuilt,
 * never loaded. A cache that cannot be read or written is ignored (the database is then built from SQL, as
 * without a cache). Once the current image is in place, images of other keys (older versions) are removed, as
 * are temporary files an interrupted run left long ago: only regular files named as this module names them.
 *
 * Loading cost grows with the image's size (PGlite unpacks it into memory file by file), so the recipe keeps
 * it small — about 15 MB instead of 43 MB: 1 MB WAL segments and at most 4 MB of WAL (initdb's default is one
 * 16 MB segment), the template databases dropped (the demo never creates a database), and a CHECKPOINT before
 * the dump so a load replays no WAL. `shared_buffers` is 16 MB instead of 128 MB (the fixture is a few hundred
 * kB), which PostgreSQL otherwise allocates and clears at every start. The database built from SQL follows
 * the same recipe, so the cache changes start-up time only, never behaviour.
 */
import { createHash, randomUUID } from 'node:crypto'
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPgliteDatabase, type PgliteDatabase } from '../executor/index.ts'
import type { CliOutput } from './cli-output.ts'
import { saasFixtureSql } from './saas-fixture.ts'

export interface DemoDatabaseOptions {
  readonly output: CliOutput
  /** Directory for the cached image; `null` turns the cache off. Default: see defaultCacheDir. */
  readonly cacheDir?: string | null
  /** The SQL that builds the database (default: the SaaS fixture); part of the cache key. */
  readonly fixtureSql?: string
}

const INITDB_ARGS = ['--wal-segsize=1'] as const
const SETTINGS = ['shared_buffers=16MB', 'min_wal_size=2MB', 'max_wal_size=4MB'] as const
/** Statements run after the fixture; changing them (or the lines above) changes the cache key. */
const FINISH = [
  "update pg_database set datistemplate = false where datname in ('template0', 'template1')",
  'drop database template0',
  'drop database template1',
  'checkpoint',
] as const
const RECIPE = JSON.stringify({ version: 2, initdb: INITDB_ARGS, settings: SETTINGS, finish: FINISH })
/** The image file: this line, the hex SHA-256 of the tarball and a newline, then the tarball. */
const MAGIC = 'tessera-pglite-image 2\n'
const HEADER_BYTES = MAGIC.length + 64 + 1

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache')
  return join(base, 'tessera')
}

export async function openDemoDatabase(options: DemoDatabaseOptions): Promise<PgliteDatabase> {
  const { output } = options
  const sql = options.fixtureSql ?? saasFixtureSql()
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir
  const file = cacheDir === null ? null : demoImagePath(cacheDir, sql)

  const cached = file === null ? null : readCache(file, output)
  if (cached !== null) {
    try {
      const database = await output.phase('Start the embedded database from the cached image', () =>
        createPgliteDatabase({ loadDataDir: new Blob([cached]) }),
      )
      if (file !== null) pruneOtherImages(file, output)
      return database
    } catch (error) {
      output.detail(`cached image ${file ?? ''} unusable (${String(error)}); rebuilding it`)
    }
  }
  const database = await output.phase('Start the embedded database', () =>
    createPgliteDatabase({ initdbArgs: INITDB_ARGS, settings: SETTINGS }),
  )
  try {
    await output.phase('Load the SaaS fixture', async () => {
      await database.pglite.exec(sql)
      // One statement per call: DROP DATABASE cannot run inside the implicit transaction of a batch.
      for (const statement of FINISH) await database.pglite.exec(statement)
    })
    if (file !== null) {
      await output.phase('Cache the database image', async () => {
        const dump = await database.pglite.dumpDataDir('none')
        if (writeCache(file, new Uint8Array(await dump.arrayBuffer()), output)) pruneOtherImages(file, output)
      })
    }
    return database
  } catch (error) {
    await database.close()
    throw error
  }
}

/** Where the image for this fixture, PGlite version and recipe is cached. */
export function demoImagePath(cacheDir: string, sql: string = saasFixtureSql()): string {
  const key = createHash('sha256')
    .update(pgliteVersion())
    .update('\0')
    .update(RECIPE)
    .update('\0')
    .update(sql)
    .digest('hex')
    .slice(0, 16)
  return join(cacheDir, `demo-${key}.img`)
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

/** The tarball, or null when the file is missing, unreadable, or does not match the digest it starts with. */
function readCache(file: string, output: CliOutput): Uint8Array | null {
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch {
    return null
  }
  const header = Buffer.from(bytes.subarray(0, HEADER_BYTES)).toString('latin1')
  const tarball = bytes.subarray(HEADER_BYTES)
  const digest = header.slice(MAGIC.length, MAGIC.length + 64)
  if (!header.startsWith(MAGIC) || header.at(-1) !== '\n' || sha256(tarball) !== digest) {
    output.detail(`cached image ${file} is damaged (its digest does not match); rebuilding it`)
    return null
  }
  return tarball
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Written to a temporary name unique to this run first, then renamed: a concurrent or interrupted run never
 * sees half a file, and two runs writing at once each rename a whole image (the same one) into place.
 */
function writeCache(file: string, tarball: Uint8Array, output: CliOutput): boolean {
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${MAGIC}${sha256(tarball)}\n`, 'latin1'), tarball]))
    renameSync(temporary, file)
    output.detail(`cached the demo database image at ${file}`)
    return true
  } catch (error) {
    rmSync(temporary, { force: true })
    output.detail(`could not cache the demo database image at ${file}: ${String(error)}`)
    return false
  }
}

/** The names demoImagePath and writeCache give: an image, and an image's temporary file. */
const IMAGE_NAME = /^demo-[0-9a-f]{16}\.img$/
const TEMPORARY_NAME =
  /^demo-[0-9a-f]{16}\.img\.\d+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/
/** A temporary file this old belongs to a run that died: writing one takes seconds. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000

/**
 * Removes the images of other keys (an older fixture, PGlite or recipe: never loaded again) and stale temporary
 * files, next to `current`. Only regular files with the names this module gives (a symbolic link, a directory or
 * any other name is left alone); a younger temporary file may be another run's image in the making. A run of an
 * older version still reading its image is unaffected (the read holds the whole file). Best effort: the cache
 * works the same when this fails.
 */
function pruneOtherImages(current: string, output: CliOutput): void {
  const dir = dirname(current)
  const keep = basename(current)
  let removed = 0
  try {
    for (const name of readdirSync(dir)) {
      if (name === keep) continue
      const image = IMAGE_NAME.test(name)
      if (!image && !TEMPORARY_NAME.test(name)) continue
      const path = join(dir, name)
      try {
        const stat = lstatSync(path)
        if (!stat.isFile()) continue
        if (!image && Date.now() - stat.mtimeMs < STALE_TEMPORARY_MS) continue
        rmSync(path)
        removed += 1
      } catch {
        // gone already (another run pruned it) or not ours to remove
      }
    }
  } catch (error) {
    output.detail(`could not clean the image cache ${dir}: ${String(error)}`)
    return
  }
  if (removed > 0) {
    output.detail(`removed ${removed} old cached file${removed === 1 ? '' : 's'} from ${dir}`)
  }
}
