/**
 * Eval suites as data (`evals/*.yaml`): principals by name and cases of tool calls with what to expect and
 * which invariants to check. Files are read with the YAML core schema and checked with zod; every problem is
 * reported at once as one VALIDATION_ERROR whose lines read `file:line:column: path: message`.
 */
import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument, stringify } from 'yaml'
import { z } from 'zod'
import { principalSchema } from '../context/index.ts'
import { ERROR_CODES, TesseraError } from '../errors/index.ts'
import { INVARIANT_NAMES, type InvariantName } from './eval-harness.ts'

const expectSchema = z
  .strictObject({
    ok: z.literal(true).optional(),
    errorCode: z.enum(ERROR_CODES).optional(),
    /** Rows of a query page, 1 for get/create/update, groups of a grouped aggregate. */
    rowCount: z.int().nonnegative().optional(),
    /** Each entry must equal (on its keys) some returned top-level row. */
    rowsInclude: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .refine(
    (e) => (e.ok === true) !== (e.errorCode !== undefined),
    'give exactly one of `ok: true` or `errorCode`',
  )
  .refine(
    (e) => e.errorCode === undefined || (e.rowCount === undefined && e.rowsInclude === undefined),
    'rowCount and rowsInclude need `ok: true`',
  )

const caseSchema = z.strictObject({
  name: z.string().min(1),
  principal: z.string().min(1),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  expect: expectSchema.optional(),
  /**
   * Cursor reuse: first run `db_query` with these args as this principal, then send the page's `nextCursor`
   * as this case's `args.cursor` (cursors are sealed per toolset, so a suite cannot hold one literally).
   */
  cursorFrom: z
    .strictObject({ principal: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}) })
    .optional(),
  invariants: z.array(z.enum(INVARIANT_NAMES as [InvariantName, ...InvariantName[]])).optional(),
})

export const suiteSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The database the cases assume; `saas` is the shared two-tenant fixture. */
    fixture: z.literal('saas').default('saas'),
    /** Policy file the results are judged by, relative to the suite file (default: the runner's policy). */
    policy: z.string().min(1).optional(),
    principals: z.record(z.string(), principalSchema),
    cases: z.array(caseSchema).min(1),
  })
  .superRefine((s, issue) => {
    s.cases.forEach((c, i) => {
      if (!Object.hasOwn(s.principals, c.principal)) {
        issue.addIssue({
          code: 'custom',
          path: ['cases', i, 'principal'],
          message: `unknown principal '${c.principal}' (declared: ${Object.keys(s.principals).join(', ') || 'none'})`,
        })
      }
      if (c.cursorFrom !== undefined && !Object.hasOwn(s.principals, c.cursorFrom.principal)) {
        issue.addIssue({
          code: 'custom',
          path: ['cases', i, 'cursorFrom', 'principal'],
          message: `unknown principal '${c.cursorFrom.principal}'`,
        })
      }
    })
  })

export type EvalSuite = z.infer<typeof suiteSchema>
export type EvalCase = EvalSuite['cases'][number]
export type EvalExpect = NonNullable<EvalCase['expect']>

export interface LoadedSuite {
  readonly file: string
  readonly suite: EvalSuite
}

export async function loadSuiteFile(file: string): Promise<LoadedSuite> {
  return { file, suite: parseSuite(await readFile(file, 'utf8'), file) }
}

/** Parses suite text; `file` names it in errors. */
export function parseSuite(text: string, file: string): EvalSuite {
  const lines = new LineCounter()
  const doc = parseDocument(text, { schema: 'core', merge: false, uniqueKeys: true, lineCounter: lines })
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return file
    const p = lines.linePos(offset)
    return `${file}:${p.line}:${p.col}`
  }
  if (doc.errors.length > 0) {
    throw suiteError(
      file,
      doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split('\n')[0] ?? ''}`),
    )
  }
  const parsed = suiteSchema.safeParse(doc.toJS({ maxAliasCount: 50 }))
  if (parsed.success) return parsed.data
  throw suiteError(
    file,
    parsed.error.issues.map((issue) => {
      // The deepest node that exists on the issue's path gives the line.
      let path = [...issue.path] as (string | number)[]
      let node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined
      while (!node?.range && path.length > 0) {
        path = path.slice(0, -1)
        node = (path.length === 0 ? doc.contents : doc.getIn(path, true)) as typeof node
      }
      const shown = issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .slice(1)
      return `${at(node?.range?.[0])}: ${shown || '(suite)'}: ${issue.message}`
    }),
  )
}

function suiteError(file: string, problems: string[]): TesseraError {
  return new TesseraError('VALIDATION_ERROR', `Eval suite ${file} is invalid:\n${problems.join('\n')}`, {
    details: { file, problems },
  })
}

/** A suite as YAML text (generated suites, shrunk fuzz cases), loadable by parseSuite. */
export function suiteToYaml(suite: EvalSuite): string {
  return stringify(suite, { lineWidth: 0, aliasDuplicateObjects: false })
}
