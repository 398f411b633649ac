/**
 * `loadPolicyFile` (docs/contract.md §3): YAML or JSON policy files go through the very same schema and checks as
 * `definePolicy`. YAML is read as plain data only: YAML 1.2 core schema, no custom or language-specific tags
 * (an unknown tag is an error, not a string), no merge keys, duplicate keys rejected, aliases capped. JSON is
 * checked for duplicate keys too, since `JSON.parse` would silently keep the last one.
 */
import { readFile, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import { parseDocument, type YAMLError } from 'yaml'
import { isTesseraError, policyInvalid, type PolicyProblem } from '../errors/index.ts'
import { parsePolicy } from './define-policy.ts'
import type { Policy } from './types.ts'

const MAX_POLICY_FILE_BYTES = 1024 * 1024
const MAX_ALIASES = 50
const DOCUMENT = '(document)'

export async function loadPolicyFile(path: string): Promise<Policy> {
  return parsePolicy(await readPolicyData(path), path)
}

/**
 * The file's data before the policy schema sees it (YAML/JSON problems are POLICY_INVALID already), for a
 * check that wants the schema's problems and the binding's in one report (src/policy/check-policy-data.ts).
 */
export async function readPolicyData(path: string): Promise<unknown> {
  const format = formatOf(path)
  if (format === undefined) {
    throw policyInvalid(
      [{ path: DOCUMENT, message: 'unsupported file type: use .yaml, .yml or .json' }],
      path,
    )
  }
  const text = await readText(path)
  return parseText(text, format, path)
}

type Format = 'yaml' | 'json'

function formatOf(path: string): Format | undefined {
  const ext = extname(path).toLowerCase()
  if (ext === '.yaml' || ext === '.yml') return 'yaml'
  if (ext === '.json') return 'json'
  return undefined
}

async function readText(path: string): Promise<string> {
  try {
    const info = await stat(path)
    if (!info.isFile()) throw policyInvalid([{ path: DOCUMENT, message: 'not a regular file' }], path)
    if (info.size > MAX_POLICY_FILE_BYTES) {
      throw policyInvalid(
        [{ path: DOCUMENT, message: `file is larger than ${MAX_POLICY_FILE_BYTES} bytes` }],
        path,
      )
    }
    return await readFile(path, 'utf8')
  } catch (error) {
    if (isTesseraError(error)) throw error
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      throw policyInvalid([{ path: DOCUMENT, message: `cannot read the file (${error.code})` }], path)
    }
    throw error
  }
}

function parseText(text: string, format: Format, path: string): unknown {
  const problems: PolicyProblem[] = []
  if (format === 'json') {
    try {
      JSON.parse(text)
    } catch (error) {
      const reason = error instanceof SyntaxError ? error.message : 'not valid JSON'
      throw policyInvalid([{ path: DOCUMENT, message: `invalid JSON: ${reason}` }], path)
    }
  }
  // JSON is a subset of YAML 1.2, so one parser (with the JSON schema for .json) also catches duplicate keys.
  const doc = parseDocument(text, {
    version: '1.2',
    schema: format === 'json' ? 'json' : 'core',
    customTags: [],
    resolveKnownTags: false,
    merge: false,
    uniqueKeys: true,
    strict: true,
    prettyErrors: true,
  })
  for (const error of [...doc.errors, ...doc.warnings]) problems.push(yamlProblem(error))
  if (problems.length > 0) throw policyInvalid(problems, path)
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES })
  } catch (error) {
    const reason = error instanceof Error ? firstLine(error.message) : 'cannot be read as data'
    throw policyInvalid([{ path: DOCUMENT, message: reason }], path)
  }
}

function yamlProblem(error: YAMLError): PolicyProblem {
  return { path: DOCUMENT, message: firstLine(error.message) }
}

/** yaml's pretty errors append a source excerpt after the first line; the first line carries line and column. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '')
}
