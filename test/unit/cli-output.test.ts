import { describe, expect, it } from 'vitest'
import { createCliOutput, type LineSink } from '../../src/cli/cli-output.ts'

function sink(isTTY: boolean): LineSink & { text: () => string } {
  const chunks: string[] = []
  return { write: (t) => void chunks.push(t), isTTY, text: () => chunks.join('') }
}

const ESC = '\u001b['

describe('CLI output', () => {
  it('paints only for a terminal, and never with --json, NO_COLOR or TERM=dumb', () => {
    const painted = (o: ReturnType<typeof createCliOutput>) => o.paint.ok('x').includes(ESC)
    expect(painted(createCliOutput({ stdout: sink(true), stderr: sink(true), env: {} }))).toBe(true)
    expect(painted(createCliOutput({ stdout: sink(false), stderr: sink(true), env: {} }))).toBe(false)
    expect(painted(createCliOutput({ json: true, stdout: sink(true), stderr: sink(true), env: {} }))).toBe(
      false,
    )
    expect(painted(createCliOutput({ stdout: sink(true), stderr: sink(true), env: { NO_COLOR: '1' } }))).toBe(
      false,
    )
    expect(painted(createCliOutput({ stdout: sink(true), stderr: sink(true), env: { TERM: 'dumb' } }))).toBe(
      false,
    )
  })

  it('keeps stdout to JSON lines with --json and to narration without it', () => {
    const stdout = sink(false)
    const json = createCliOutput({ json: true, stdout, stderr: sink(false) })
    json.say('hello')
    json.data({ a: 1 })
    expect(stdout.text()).toBe('{"a":1}\n')

    const textOut = sink(false)
    const text = createCliOutput({ stdout: textOut, stderr: sink(false) })
    text.say('hello')
    text.data({ a: 1 })
    expect(textOut.text()).toBe('hello\n')
  })

  it('draws a spinner for a phase on a terminal stderr only, and never on stdout', async () => {
    const ttyErr = sink(true)
    const ttyOut = sink(true)
    const tty = createCliOutput({ stdout: ttyOut, stderr: ttyErr, env: {} })
    expect(await tty.phase('Work', async () => 42)).toBe(42)
    expect(ttyErr.text()).toContain('Work…')
    expect(ttyOut.text()).toBe('')

    const pipedErr = sink(false)
    const piped = createCliOutput({ stdout: sink(false), stderr: pipedErr, env: {} })
    await piped.phase('Work', async () => 1)
    expect(pipedErr.text()).toBe('')

    const ciErr = sink(true)
    await createCliOutput({ stdout: sink(false), stderr: ciErr, env: { CI: 'true' } }).phase(
      'Work',
      async () => 1,
    )
    expect(ciErr.text()).toBe('')
  })

  it('prints phase timings on stderr with --verbose and records them either way', async () => {
    const stderr = sink(false)
    const verbose = createCliOutput({ verbose: true, stdout: sink(false), stderr })
    await verbose.phase('Load', async () => undefined)
    await expect(
      verbose.phase('Fail', async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(stderr.text()).toMatch(/Load: \d+ ms/)
    expect(stderr.text()).toMatch(/Fail: \d+ ms/)
    expect(verbose.timings().map((t) => t.label)).toEqual(['Load', 'Fail'])
  })
})
