/**
 * MCP overhead benchmark: `db_get` and `db_query` made in-process through `toolset.call`, and the same calls
 * through the SDK's Client over Streamable HTTP (API-key auth, JSON responses), with N concurrent clients on
 * both sides, in the same run and interleaved in rounds. Prints calls/s, p50/p99, the HTTP/in-process ratio and
 * CPU per call of this process and of the server process. It is not a test: it never fails on its numbers.
 *
 * By default the server is a spawned `tessera serve --http` (bench/mcp-server-process.ts), so the clients and
 * the server do not share one event loop; `--server same` runs it inside this process as before.
 *
 *   npx tsx bench/mcp-bench.ts                 20,000 rows / 100 tenants, 16 clients, 4,000 calls per scenario
 *   npx tsx bench/mcp-bench.ts --concurrency 16 --calls 8000 --rows 1000000 --tenants 1000
 *   npx tsx bench/mcp-bench.ts --cpu-prof /tmp/prof   the server process writes a .cpuprofile on exit
 *
 * Server: as `npm run bench` (TESSERA_BENCH_DATABASE_URL, else TESSERA_TEST_DATABASE_URL's server, else local).
 */
import { readFileSync } from 'node:fs'
import { loadavg, cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { pino } from 'pino'
import { createPostgresDatabase } from '../src/executor/index.ts'
import { createMcpServer, generateApiKey, hashApiKey } from '../src/mcp/index.ts'
import { definePolicy } from '../src/policy/index.ts'
import type { AnyDatabase } from '../src/schema/index.ts'
import { createToolset, type Toolset } from '../src/tools/index.ts'
import {
  BENCH_DATABASE,
  ensureBenchDatabase,
  ensureDataSet,
  loadSample,
  seededRandom,
  serverUrl,
  type SampleRow,
} from './bench-data.ts'
import { BENCH_POLICY } from './bench-workloads.ts'
import { formatTable, summarize, type LatencySummary } from './latency-stats.ts'
import { startServerProcess } from './mcp-server-process.ts'

const SECRET = 'tessera-bench-secret-0123456789abcdef'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    tenants: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '16' },
    calls: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '8' },
    pool: { type: 'string', default: '8' },
    server: { type: 'string', default: 'child' },
    'cpu-prof': { type: 'string' },
    database: { type: 'string', default: BENCH_DATABASE },
  },
  strict: true,
})
const int = (name: keyof typeof values): number => {
  const n = Number(values[name])
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`)
  return n
}
const spec = { rows: int('rows'), tenants: int('tenants'), skew: false }
const concurrency = int('concurrency')
const calls = int('calls')
const rounds = int('rounds')
if (values.server !== 'child' && values.server !== 'same') throw new Error('--server must be child or same')
const separateServer = values.server === 'child'
const POLICY = BENCH_POLICY

/** User + system CPU of another process in µs, from /proc (Linux; undefined elsewhere). */
function processCpuMicros(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')
    const ticks = Number(fields?.[11]) + Number(fields?.[12])
    return Number.isFinite(ticks) ? (ticks * 1e6) / 100 : undefined
  } catch {
    return undefined
  }
}

type Caller = (tool: string, args: Record<string, unknown>) => Promise<void>

interface Scenario {
  readonly name: string
  readonly tool: 'db_get' | 'db_query'
  readonly via: 'in-process' | 'mcp-http'
}

async function main(): Promise<void> {
  const benchUrl = await ensureBenchDatabase(serverUrl(), values.database)
  await ensureDataSet(benchUrl, spec, (line) => console.log(line))
  const sample = await loadSample(benchUrl, spec, 2_000)
  const database = createPostgresDatabase({ connectionString: benchUrl, max: int('pool') })
  const toolset = await createToolset({
    db: database.db,
    secret: SECRET,
    policy: definePolicy(POLICY),
  })
  // One API key per sampled tenant: each concurrent client authenticates as its own tenant.
  const tenants = [...new Set(sample.map((s) => s.tenantId))]
  const keys = new Map(tenants.map((t) => [t, generateApiKey()]))
  const server = separateServer
    ? await startServerProcess({
        databaseUrl: benchUrl,
        secret: SECRET,
        policy: POLICY,
        keys: new Map([...keys].map(([tenant, key]) => [key, tenant])),
        ...(values['cpu-prof'] === undefined ? {} : { cpuProfileDir: values['cpu-prof'] }),
      })
    : await sameProcessServer(toolset, database.db, tenants, keys)
  const http = { url: server.url }

  // Each worker owns one tenant's rows, an MCP client for it, and an in-process caller for it.
  const byTenant = new Map<string, SampleRow[]>()
  for (const s of sample) byTenant.set(s.tenantId, [...(byTenant.get(s.tenantId) ?? []), s])
  const workers: { rows: SampleRow[]; inProcess: Caller; overHttp: Caller; client: Client }[] = []
  for (let w = 0; w < concurrency; w++) {
    const tenant = tenants[w % tenants.length] ?? ''
    const client = new Client({ name: `bench-${w}`, version: '1' })
    await client.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { Authorization: `Bearer ${keys.get(tenant) ?? ''}` } },
      }),
    )
    const ctx = { principal: { tenantId: tenant } }
    workers.push({
      rows: byTenant.get(tenant) ?? [],
      client,
      inProcess: async (tool, args) => {
        const r = await toolset.call(ctx, tool, args)
        if (!r.ok) throw new Error(`${tool}: ${r.error.code}`)
      },
      overHttp: async (tool, args) => {
        const r = await client.callTool({ name: tool, arguments: args })
        if (r.isError === true) throw new Error(`${tool} over MCP failed`)
      },
    })
  }

  const scenarios: Scenario[] = [
    { name: 'db_get in-process', tool: 'db_get', via: 'in-process' },
    { name: 'db_get MCP/HTTP', tool: 'db_get', via: 'mcp-http' },
    { name: 'db_query in-process', tool: 'db_query', via: 'in-process' },
    { name: 'db_query MCP/HTTP', tool: 'db_query', via: 'mcp-http' },
  ]
  const samples = new Map<string, number[]>(scenarios.map((s) => [s.name, []]))
  const wall = new Map<string, number>(scenarios.map((s) => [s.name, 0]))
  const clientCpu = new Map<string, number>(scenarios.map((s) => [s.name, 0]))
  const serverCpu = new Map<string, number>(scenarios.map((s) => [s.name, 0]))
  const random = seededRandom(42)
  const argsFor = (tool: Scenario['tool'], rows: SampleRow[]): Record<string, unknown> => {
    const row = rows[Math.floor(random() * rows.length)]
    return tool === 'db_get'
      ? { model: 'Order', id: row?.id }
      : { model: 'Order', orderBy: [{ field: 'created_at', direction: 'desc' }], limit: 20 }
  }
  const run = async (s: Scenario, count: number, record: boolean): Promise<void> => {
    let next = 0
    const started = performance.now()
    const cpu0 = process.cpuUsage()
    const server0 = separateServer ? processCpuMicros(server.pid) : undefined
    await Promise.all(
      workers.map(async (w) => {
        const call = s.via === 'in-process' ? w.inProcess : w.overHttp
        while (next < count) {
          next += 1
          const t0 = performance.now()
          await call(s.tool, argsFor(s.tool, w.rows))
          if (record) samples.get(s.name)?.push(performance.now() - t0)
        }
      }),
    )
    if (!record) return
    wall.set(s.name, (wall.get(s.name) ?? 0) + (performance.now() - started))
    const cpu = process.cpuUsage(cpu0)
    clientCpu.set(s.name, (clientCpu.get(s.name) ?? 0) + cpu.user + cpu.system)
    const server1 = separateServer ? processCpuMicros(server.pid) : undefined
    if (server0 !== undefined && server1 !== undefined)
      serverCpu.set(s.name, (serverCpu.get(s.name) ?? 0) + server1 - server0)
  }
  for (const s of scenarios) await run(s, Math.min(400, calls), false)
  const perRound = Math.ceil(calls / rounds)
  for (let r = 0; r < rounds; r++) {
    // Rotate the order every round so load from other processes hits every scenario alike.
    for (let i = 0; i < scenarios.length; i++) {
      const s = scenarios[(i + r) % scenarios.length]
      if (s !== undefined) await run(s, perRound, true)
    }
  }

  const summary = new Map<string, { lat: LatencySummary; perSecond: number }>()
  for (const s of scenarios) {
    const lat = summarize(samples.get(s.name) ?? [])
    summary.set(s.name, { lat, perSecond: (lat.count / (wall.get(s.name) ?? 1)) * 1000 })
  }
  const ms = (v: number): string => v.toFixed(2)
  console.log(
    `\nMCP overhead — ${spec.rows.toLocaleString()} rows / ${spec.tenants} tenants, ${concurrency} concurrent clients, ${calls} calls per scenario, ` +
      `server ${separateServer ? 'in its own process' : 'in this process'}, ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  )
  console.log(
    formatTable(
      [
        'scenario',
        'calls/s',
        'p50 ms',
        'p99 ms',
        'p50 ratio',
        'calls/s ratio',
        'bench CPU µs/call',
        'server CPU µs/call',
      ],
      scenarios.map((s) => {
        const own = summary.get(s.name)
        const base = summary.get(`${s.tool} in-process`)
        return [
          s.name,
          (own?.perSecond ?? 0).toFixed(0),
          ms(own?.lat.p50 ?? Number.NaN),
          ms(own?.lat.p99 ?? Number.NaN),
          `${((own?.lat.p50 ?? 0) / (base?.lat.p50 ?? 1)).toFixed(2)}x`,
          `${((own?.perSecond ?? 0) / (base?.perSecond ?? 1)).toFixed(2)}x`,
          ((clientCpu.get(s.name) ?? 0) / (own?.lat.count ?? 1)).toFixed(0),
          s.via === 'mcp-http' && separateServer
            ? ((serverCpu.get(s.name) ?? 0) / (own?.lat.count ?? 1)).toFixed(0)
            : '-',
        ]
      }),
    ),
  )
  for (const w of workers) await w.client.close()
  await server.stop()
  await database.close()
}

/** The server inside this process (`--server same`): clients and server share one event loop. */
async function sameProcessServer(
  toolset: Toolset,
  db: AnyDatabase,
  tenants: readonly string[],
  keys: ReadonlyMap<string, string>,
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const mcp = await createMcpServer({
    toolset,
    db,
    logger: pino({ level: 'silent' }),
    auth: {
      apiKeys: tenants.map((t, i) => ({
        id: `k${i}`,
        sha256: hashApiKey(keys.get(t) ?? ''),
        principal: { tenantId: t },
      })),
    },
  })
  const http = await mcp.listen({ port: 0 })
  return { url: http.url, pid: process.pid, stop: () => mcp.close() }
}

await main()
