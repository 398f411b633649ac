/**
 * The cached image of the embedded demo database (src/cli/demo-database.ts): keyed by content, checked by its
 * digest before loading, written by temporary file and rename, and never in the way when it cannot be used.
 * A small fixture keeps each cold start to initdb.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { demoImagePath, openDemoDatabase } from '../../src/cli/demo-database.ts'

const fixtureSql =
  "create table notes (id int primary key, body text); insert into notes values (1, 'cached');"
const FROM_IMAGE = 'Start the embedded database from the cached image'
const FROM_SQL = 'Load the SaaS fixture'

async function open(cacheDir: string, sql = fixtureSql) {
  const out = memoryCliOutput({ verbose: true })
  const database = await openDemoDatabase({ output: out.output, cacheDir, fixtureSql: sql })
  try {
    const { rows } = await database.pglite.query<{ body: string }>('select body from notes')
    const databases = await database.pglite.query<{ datname: string }>('select datname from pg_database')
    return {
      bodies: rows.map((r) => r.body),
      databases: databases.rows.map((r) => r.datname),
      labels: out.output.timings().map((t) => t.label),
      stderr: out.stderr.join('\n'),
    }
  } finally {
    await database.close()
  }
}

describe('embedded demo database image cache', () => {
  it('keys the image by the fixture text: a changed fixture never loads the old image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-key-'))
    expect(demoImagePath(dir, fixtureSql)).toBe(demoImagePath(dir, fixtureSql))
    expect(demoImagePath(dir, `${fixtureSql} `)).not.toBe(demoImagePath(dir, fixtureSql))
  })

  it('two runs building the image at once both succeed and leave one whole image that the next run loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-race-'))
    const [first, second] = await Promise.all([open(dir), open(dir)])
    for (const run of [first, second]) {
      expect(run.labels).toContain(FROM_SQL)
      expect(run.bodies).toEqual(['cached'])
    }
    // No temporary file is left behind; the image is the only file.
    expect(readdirSync(dir)).toEqual([demoImagePath(dir, fixtureSql).slice(dir.length + 1)])
    const third = await open(dir)
    expect(third.labels).toContain(FROM_IMAGE)
    expect(third.labels).not.toContain(FROM_SQL)
    expect(third.bodies).toEqual(['cached'])
    // The image and a database built from SQL follow the same recipe: no template databases in either.
    expect(third.databases).toEqual(['postgres'])
    expect(first.databases).toEqual(['postgres'])
  }, 600_000)

  it('rebuilds a damaged image instead of loading it, and the rebuilt image loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-damaged-'))
    const file = demoImagePath(dir, fixtureSql)
    await open(dir)
    const bytes = readFileSync(file)
    bytes[bytes.length - 600] = (bytes[bytes.length - 600] ?? 0) ^ 0xff // one bit pattern inside the tarball
    writeFileSync(file, bytes)
    const damaged = await open(dir)
    expect(damaged.stderr).toContain('is damaged')
    expect(damaged.labels).not.toContain(FROM_IMAGE)
    expect(damaged.labels).toContain(FROM_SQL)
    expect(damaged.bodies).toEqual(['cached'])
    writeFileSync(file, readFileSync(file).subarray(0, 1000)) // truncated
    const truncated = await open(dir)
    expect(truncated.stderr).toContain('is damaged')
    expect(truncated.labels).toContain(FROM_SQL)
    const again = await open(dir)
    expect(again.labels).toContain(FROM_IMAGE)
    expect(again.bodies).toEqual(['cached'])
  }, 600_000)

  it('works without the cache when the image can be neither read nor written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-unreadable-'))
    mkdirSync(demoImagePath(dir, fixtureSql)) // a directory where the image file should be
    const run = await open(dir)
    expect(run.labels).toContain(FROM_SQL)
    expect(run.stderr).toContain('could not cache')
    expect(run.bodies).toEqual(['cached'])
  }, 600_000)
})
