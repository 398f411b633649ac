import { describe, expect, it } from 'vitest'
import { parseSuite } from '../../src/eval/index.ts'
import { isTesseraError } from '../../src/errors/index.ts'

function problemsOf(text: string): string[] {
  try {
    parseSuite(text, 'evals/x.yaml')
  } catch (error) {
    if (isTesseraError(error) && error.code === 'VALIDATION_ERROR')
      return (error.details as { problems: string[] }).problems
    throw error
  }
  throw new Error('the suite was accepted')
}

const principals = 'principals:\n  a: { tenantId: t1 }\n'

describe('eval suite files', () => {
  it('accept a minimal suite and default the fixture and args', () => {
    const s = parseSuite(
      `name: s\n${principals}cases:\n  - { name: c, principal: a, tool: db_query }\n`,
      'x.yaml',
    )
    expect(s.fixture).toBe('saas')
    expect(s.cases[0]?.args).toEqual({})
  })

  it('report an unknown key with its file, line and path', () => {
    const p = problemsOf(
      `name: s\n${principals}cases:\n  - name: c\n    principal: a\n    tool: db_query\n    expct: { ok: true }\n`,
    )
    expect(p).toHaveLength(1)
    expect(p[0]).toMatch(/^evals\/x\.yaml:5:5: cases\[0\]: /)
    expect(p[0]).toContain('expct')
  })

  it('report every bad field at its line, all at once', () => {
    const p = problemsOf(
      `name: s\n${principals}cases:\n  - name: c\n    principal: a\n    tool: db_query\n    expect: { errorCode: NOPE }\n  - { name: '', principal: a, tool: t }\n`,
    )
    expect(p).toHaveLength(2)
    expect(p[0]).toMatch(/^evals\/x\.yaml:8:\d+: cases\[0\]\.expect\.errorCode: /)
    expect(p[1]).toMatch(/^evals\/x\.yaml:9:\d+: cases\[1\]\.name: /)
  })

  it('report a case naming an undeclared principal at its line', () => {
    const p = problemsOf(`name: s\n${principals}cases:\n  - name: c\n    principal: b\n    tool: db_query\n`)
    expect(p).toEqual([
      expect.stringMatching(/^evals\/x\.yaml:6:\d+: cases\[0\]\.principal: unknown principal 'b'/),
    ])
  })

  it('refuse an expectation that is both success and failure', () => {
    const p = problemsOf(
      `name: s\n${principals}cases:\n  - { name: c, principal: a, tool: t, expect: { ok: true, errorCode: NOT_FOUND } }\n`,
    )
    expect(p[0]).toContain('exactly one of')
  })

  it('report YAML syntax errors with their line', () => {
    const p = problemsOf('name: s\ncases: [\n')
    expect(p[0]).toMatch(/^evals\/x\.yaml:\d+:\d+: /)
  })

  it('refuse unknown invariant names', () => {
    const p = problemsOf(
      `name: s\n${principals}cases:\n  - { name: c, principal: a, tool: t, invariants: [noLeaks] }\n`,
    )
    expect(p[0]).toContain('cases[0].invariants[0]')
  })
})
