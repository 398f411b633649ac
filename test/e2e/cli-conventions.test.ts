/**
 * Conventions the CLI shares with its peers (issue 10, item 5) that no single command's test covers: `--json`
 * accepted everywhere, and `tessera … | head`, which closes stdout before the CLI finishes writing, ending it
 * quietly with its exit code rather than an unhandled EPIPE with a stack trace on stderr.
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

describe('tessera CLI conventions', () => {
  it('mcp-config accepts --json like every command and prints one JSON document', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'mcp-config', '--json'],
      { timeout: 120_000 },
    )
    expect(JSON.parse(stdout)).toHaveProperty('mcpServers.tessera')
  }, 120_000)

  it('exits 0 without a stack trace when the reader of its output has gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'mcp-config', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // Closed before the CLI has even loaded (tsx alone takes longer), so its first write meets a closed pipe.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(stderr).not.toContain('EPIPE')
    expect(code).toBe(0)
  }, 120_000)
})
