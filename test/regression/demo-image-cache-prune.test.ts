/**
 * Regression: the demo image cache (`~/.cache/tessera`, src/cli/demo-database.ts) kept one image per fixture,
 * PGlite version and recipe forever — about 15 MB left behind by every upgrade. Once the current image is in
 * place, older images are removed, and so are temporary files an interrupted run left long ago; nothing that
 * Tessera did not name is touched (other files, directories, symbolic links, a temporary file still being
 * written).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { memoryCliOutput } from '../../src/cli/cli-output.ts'
import { demoImagePath, openDemoDatabase } from '../../src/cli/demo-database.ts'

const fixtureSql = "create table notes (id int primary key, body text); insert into notes values (1, 'n');"

async function open(cacheDir: string): Promise<string> {
  const out = memoryCliOutput({ verbose: true })
  const database = await openDemoDatabase({ output: out.output, cacheDir, fixtureSql })
  await database.close()
  return out.stderr.join('\n')
}

function hoursAgo(file: string, hours: number): void {
  const when = new Date(Date.now() - hours * 3_600_000)
  utimesSync(file, when, when)
}

describe('the demo image cache', () => {
  it('keeps only the current image once it is in place, touching nothing it did not create', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-prune-'))
    const outside = mkdtempSync(join(tmpdir(), 'tessera-image-outside-'))
    const older = join(dir, 'demo-0123456789abcdef.img')
    const staleTemp = join(dir, 'demo-0123456789abcdef.img.4242.1b4e28ba-2fa1-11d2-883f-0016d3cca427.tmp')
    const freshTemp = join(dir, 'demo-fedcba9876543210.img.4343.1b4e28ba-2fa1-11d2-883f-0016d3cca428.tmp')
    const unrelated = [
      'notes.txt',
      'demo-old.img',
      'demo-0123456789ABCDEF.img',
      'demo-0123456789abcdef.img.bak',
    ]
    writeFileSync(older, 'an image of an older version')
    writeFileSync(staleTemp, 'half an image from a run interrupted long ago')
    hoursAgo(staleTemp, 3)
    writeFileSync(freshTemp, 'an image another run is writing now')
    for (const name of unrelated) writeFileSync(join(dir, name), 'not ours')
    mkdirSync(join(dir, 'demo-aaaaaaaaaaaaaaaa.img')) // a directory with an image's name
    const target = join(outside, 'precious')
    writeFileSync(target, 'kept')
    symlinkSync(target, join(dir, 'demo-bbbbbbbbbbbbbbbb.img'))

    const stderr = await open(dir)

    const current = basename(demoImagePath(dir, fixtureSql))
    expect(readdirSync(dir).sort()).toEqual(
      [
        current,
        basename(freshTemp),
        ...unrelated,
        'demo-aaaaaaaaaaaaaaaa.img',
        'demo-bbbbbbbbbbbbbbbb.img',
      ].sort(),
    )
    expect(existsSync(older)).toBe(false)
    expect(readFileSync(target, 'utf8')).toBe('kept')
    expect(stderr).toContain('removed 2 old cached files')
  }, 600_000)

  it('also prunes when the current image is loaded from the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-image-prune-load-'))
    await open(dir)
    const older = join(dir, 'demo-1111111111111111.img')
    writeFileSync(older, 'left by an older version')
    await open(dir)
    expect(readdirSync(dir)).toEqual([basename(demoImagePath(dir, fixtureSql))])
  }, 600_000)
})
