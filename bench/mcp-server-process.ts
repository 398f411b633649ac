/**
 * The MCP server of `bench/mcp-bench.ts` in a process of its own: a spawned `tessera serve --http 127.0.0.1:0`
 * (the CLI from src/ through tsx, the same code path as the published binary) with an auth file of API keys
 * and a policy file, so the benchmark's clients and the server do not share one event loop and CPU budget.
 * `cpuProfileDir` adds `--cpu-prof` (written when the server exits on SIGTERM) to see where its time goes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hashApiKey } from '../src/mcp/index.ts'

export interface ServerProcessOptions {
  readonly databaseUrl: string
  readonly secret: string
  /** The policy as `definePolicy` takes it (written to a JSON file). */
  readonly policy: unknown
  /** API key → tenant it authenticates as. */
  readonly keys: ReadonlyMap<string, string>
  readonly cpuProfileDir?: string
}

export interface ServerProcess {
  readonly url: string
  readonly pid: number
  /** SIGTERM (the server drains and exits; a CPU profile is written then) and wait for the exit. */
  stop(): Promise<void>
}

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mcp-bench-'))
  const policyFile = join(dir, 'policy.json')
  const authFile = join(dir, 'auth.json')
  writeFileSync(policyFile, JSON.stringify(options.policy))
  writeFileSync(
    authFile,
    JSON.stringify({
      apiKeys: [...options.keys].map(([key, tenantId], i) => ({
        id: `k${i}`,
        sha256: hashApiKey(key),
        principal: { tenantId },
      })),
    }),
    { mode: 0o600 },
  )
  const nodeArgs = [
    ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir]),
    '--import',
    'tsx',
    CLI,
    'serve',
    '--http',
    '127.0.0.1:0',
    '--auth',
    authFile,
    '--policy',
    policyFile,
    '--db',
    options.databaseUrl,
  ]
  const child = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, TESSERA_SECRET: options.secret },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let url: string
  try {
    url = await listeningUrl(child)
  } catch (error) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return {
    url,
    pid: child.pid ?? -1,
    async stop() {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves with the URL the server prints on stderr once it listens; rejects when it exits first. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8')
      const match = /listening on (http:\/\/\S+)/.exec(seen)
      if (match?.[1] !== undefined) {
        child.stderr?.off('data', onData)
        // Keep draining stderr so a chatty server never blocks on a full pipe.
        child.stderr?.resume()
        resolve(match[1])
      }
    }
    child.stderr?.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`tessera serve exited (${code ?? 'signal'}) before listening:\n${seen.slice(-2000)}`)),
    )
  })
}
