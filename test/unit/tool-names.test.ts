/**
 * Tool names are spelled in one source file (src/tools/tool-names.ts): everything else — the registry, the MCP
 * server, the CLI, the eval harness — names a tool through TOOL_NAMES, so a rename is one edit.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TOOL_NAMES } from '../../src/tools/tool-names.ts'
import { TOOLS } from '../../src/tools/tool-registry.ts'

const SRC = new URL('../../src/', import.meta.url).pathname
const NAMES_FILE = 'tools/tool-names.ts'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

describe('tool names', () => {
  it('appear in src/tools/tool-names.ts and nowhere else in src, in code, strings or comments', () => {
    const elsewhere: string[] = []
    for (const file of sourceFiles(SRC)) {
      const name = relative(SRC, file)
      if (name === NAMES_FILE) continue
      const text = readFileSync(file, 'utf8')
      for (const match of text.matchAll(/\bdb_[a-z][a-z_]*/g)) elsewhere.push(`${name}: ${match[0]}`)
    }
    expect(elsewhere).toEqual([])
    const own = readFileSync(join(SRC, NAMES_FILE), 'utf8')
    for (const tool of Object.values(TOOL_NAMES)) {
      expect(own.split(`'${tool}'`).length - 1, tool).toBe(1)
    }
  })

  it('name every registry record after its key', () => {
    for (const [key, record] of Object.entries(TOOLS)) {
      expect(record.key).toBe(key)
      expect(record.name).toBe(TOOL_NAMES[key as keyof typeof TOOL_NAMES])
      expect(record.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/)
    }
    expect(Object.keys(TOOLS).sort()).toEqual(Object.keys(TOOL_NAMES).sort())
  })
})
