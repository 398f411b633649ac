/**
 * `tessera … | head` closes the CLI's stdout before it finishes writing: the CLI stops quietly with its exit
 * code, as other CLIs do, rather than dying on an unhandled EPIPE with a stack trace on stderr.
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'

describe('tessera with a closed stdout', () => {
  it('exits 0 without a stack trace when the reader of its output has gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'mcp-config'], {
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
