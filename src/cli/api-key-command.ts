/**
 * `tessera api-key create|list|revoke --auth FILE`: manages the API keys of an auth file. A new key is printed
 * once and only its sha256 is stored; the file is rewritten in place (comments kept) with owner-only
 * permissions, and validated as a whole before it is written, so a mistake never leaves a broken file behind.
 */
import type { Command } from 'commander'
import { reportErrors } from './report-errors.ts'
import { chmod, readFile, rename, writeFile } from 'node:fs/promises'
import { parseDocument, stringify, type Document } from 'yaml'
import { parseRunContext } from '../context/index.ts'
import { TesseraError } from '../errors/index.ts'
import { generateApiKey, hashApiKey, parseAuthConfig, type ApiKeyEntry } from '../mcp/index.ts'

export interface ApiKeyCreateOptions {
  readonly auth: string
  readonly id: string
  readonly principal: string
  /** `BURST/PER_SECOND`, e.g. `20/5`. */
  readonly rate?: string
}

/** Documents that began as an empty or missing file. */
const fresh = new WeakSet<Document>()

async function openAuthFile(path: string): Promise<Document> {
  let text = ''
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error
  }
  // JSON is YAML: one parser keeps comments in YAML files and reads JSON files alike.
  const doc: Document = parseDocument(text)
  if (doc.errors.length > 0) {
    throw new TesseraError('VALIDATION_ERROR', `The auth file ${path} does not parse`)
  }
  if (doc.contents === null) {
    doc.contents = doc.createNode({})
    fresh.add(doc)
  }
  return doc
}

async function saveAuthFile(path: string, doc: Document): Promise<void> {
  parseAuthConfig(doc.toJS(), `auth file ${path}`)
  // A document that started empty is written in block style; an existing one keeps its layout and comments.
  const text = path.endsWith('.json')
    ? `${JSON.stringify(doc.toJS(), null, 2)}\n`
    : fresh.has(doc)
      ? stringify(doc.toJS())
      : doc.toString()
  // Written beside and renamed over: a server re-reading the file on change never sees half of it.
  const partial = `${path}.${process.pid}.tmp`
  await writeFile(partial, text, { mode: 0o600 })
  await chmod(partial, 0o600)
  await rename(partial, path)
}

function entries(doc: Document): ApiKeyEntry[] {
  return parseAuthConfig(doc.toJS() ?? {}).apiKeys ?? []
}

export async function createApiKey(
  options: ApiKeyCreateOptions,
): Promise<{ key: string; entry: ApiKeyEntry }> {
  const doc = await openAuthFile(options.auth)
  if (entries(doc).some((e) => e.id === options.id)) {
    throw new TesseraError('VALIDATION_ERROR', `An API key named '${options.id}' already exists`, {
      hints: ['Revoke it first, or pick another --id'],
    })
  }
  let principal: unknown
  try {
    principal = JSON.parse(options.principal)
  } catch {
    throw new TesseraError('VALIDATION_ERROR', '--principal is not JSON', {
      hints: [`Example: --principal '{"tenantId":"t1","userId":"u1","roles":["member"]}'`],
    })
  }
  parseRunContext({ principal })
  const key = generateApiKey()
  const entry: ApiKeyEntry = {
    id: options.id,
    sha256: hashApiKey(key),
    principal: principal as ApiKeyEntry['principal'],
    createdAt: new Date().toISOString(),
    ...(options.rate === undefined ? {} : { rateLimit: parseRate(options.rate) }),
  }
  if (!doc.has('apiKeys')) doc.set('apiKeys', doc.createNode([]))
  doc.addIn(['apiKeys'], doc.createNode(entry))
  await saveAuthFile(options.auth, doc)
  return { key, entry }
}

export async function listApiKeys(auth: string): Promise<ApiKeyEntry[]> {
  return entries(await openAuthFile(auth))
}

export async function revokeApiKey(auth: string, id: string): Promise<boolean> {
  const doc = await openAuthFile(auth)
  const index = entries(doc).findIndex((e) => e.id === id)
  if (index < 0) return false
  doc.deleteIn(['apiKeys', index])
  await saveAuthFile(auth, doc)
  return true
}

function parseRate(text: string): { burst: number; perSecond: number } {
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text)
  if (!match) {
    throw new TesseraError('VALIDATION_ERROR', `--rate '${text}' is not BURST/PER_SECOND`, {
      hints: ['Example: --rate 20/5'],
    })
  }
  return { burst: Number(match[1]), perSecond: Number(match[2]) }
}

export async function runApiKey(
  action: 'create' | 'list' | 'revoke',
  options: { auth: string; id?: string; principal?: string; rate?: string; json?: boolean },
  out: (line: string) => void,
): Promise<number> {
  if (action === 'create') {
    if (options.id === undefined || options.principal === undefined) {
      throw new TesseraError('VALIDATION_ERROR', 'api-key create needs --id and --principal')
    }
    const { key, entry } = await createApiKey({
      auth: options.auth,
      id: options.id,
      principal: options.principal,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
    })
    if (options.json === true) out(JSON.stringify({ id: entry.id, key, principal: entry.principal }))
    else {
      out(
        `Created API key '${entry.id}' for tenant ${entry.principal.tenantId}. It is shown once; store it now:`,
      )
      out(key)
    }
    return 0
  }
  if (action === 'list') {
    const keys = await listApiKeys(options.auth)
    if (options.json === true) {
      for (const k of keys)
        out(
          JSON.stringify({
            id: k.id,
            principal: k.principal,
            createdAt: k.createdAt ?? null,
            rateLimit: k.rateLimit ?? null,
          }),
        )
    } else if (keys.length === 0) out('No API keys.')
    else
      for (const k of keys)
        out(
          `${k.id.padEnd(24)} tenant ${k.principal.tenantId}${k.principal.userId === undefined ? '' : `  user ${k.principal.userId}`}  ${k.createdAt ?? ''}`,
        )
    return 0
  }
  if (options.id === undefined) throw new TesseraError('VALIDATION_ERROR', 'api-key revoke needs --id')
  const revoked = await revokeApiKey(options.auth, options.id)
  out(
    revoked ? `Revoked '${options.id}'. Restart the server to drop it.` : `No API key named '${options.id}'.`,
  )
  return revoked ? 0 : 1
}

export function registerApiKeyCommand(program: Command): void {
  const apiKey = program.command('api-key').description('Create, list and revoke API keys in an auth file')
  for (const action of ['create', 'list', 'revoke'] as const) {
    const cmd = apiKey
      .command(action)
      .requiredOption('--auth <file>', 'auth file (.yaml or .json)')
      .option('--json', 'machine-readable output')
    if (action !== 'list') cmd.option('--id <name>', 'name of the key')
    if (action === 'create') {
      cmd
        .option('--principal <json>', 'principal the key acts as, e.g. {"tenantId":"t1","roles":["member"]}')
        .option('--rate <burst/perSecond>', 'rate limit of this key, e.g. 20/5')
    }
    cmd.action(
      async (opts: { auth: string; id?: string; principal?: string; rate?: string; json?: boolean }) => {
        await reportErrors(() => runApiKey(action, opts, (line) => console.log(line)))
      },
    )
  }
}
