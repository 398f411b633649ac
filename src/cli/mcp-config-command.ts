/**
 * `tessera mcp-config`: the JSON snippet to paste into an MCP client (Claude Desktop, Cursor, VS Code). It
 * names this installation by absolute paths, because desktop clients start servers without your shell's PATH,
 * and it never writes a secret into the snippet: secrets are left as placeholders for the environment.
 */
import type { Command } from 'commander'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export type McpClientKind = 'claude' | 'cursor' | 'vscode'

export interface McpConfigOptions {
  readonly client?: McpClientKind
  readonly policy?: string
  /** Serve a PostgreSQL database (the URL goes into the env block as a placeholder unless given). */
  readonly db?: boolean
  /** A remote server's MCP URL instead of a local stdio process. */
  readonly url?: string
  readonly principal?: string
}

const BIN = fileURLToPath(new URL('../../bin/tessera.js', import.meta.url))

export function mcpConfig(options: McpConfigOptions): Record<string, unknown> {
  const client = options.client ?? 'claude'
  let server: Record<string, unknown>
  if (options.url !== undefined) {
    server = {
      ...(client === 'vscode' ? { type: 'http' } : {}),
      url: options.url,
      headers: { Authorization: 'Bearer <your API key or JWT>' },
    }
  } else {
    const args = [BIN, 'serve']
    if (options.db === true) args.push('--policy', resolve(options.policy ?? 'policy.yaml'))
    else {
      args.push('--demo')
      if (options.policy !== undefined) args.push('--policy', resolve(options.policy))
    }
    if (options.principal !== undefined) args.push('--principal', options.principal)
    server = {
      ...(client === 'vscode' ? { type: 'stdio' } : {}),
      command: process.execPath,
      args,
      ...(options.db === true
        ? {
            env: {
              TESSERA_DATABASE_URL: 'postgres://USER:PASSWORD@HOST:5432/DB',
              TESSERA_SECRET: '<32+ random characters>',
            },
          }
        : {}),
    }
  }
  return client === 'vscode' ? { servers: { tessera: server } } : { mcpServers: { tessera: server } }
}

export function runMcpConfig(options: McpConfigOptions, out: (line: string) => void): void {
  out(JSON.stringify(mcpConfig(options), null, 2))
}

export function registerMcpConfigCommand(program: Command): void {
  program
    .command('mcp-config')
    .description('Print the JSON to paste into an MCP client (Claude Desktop, Cursor, VS Code)')
    .option('--client <kind>', 'claude | cursor | vscode', 'claude')
    .option('--policy <file>', 'policy file to serve')
    .option('--db', 'serve PostgreSQL (TESSERA_DATABASE_URL) instead of the demo database')
    .option('--url <url>', 'a running HTTP server instead of a local stdio process')
    .option('--principal <json>', 'the principal the stdio server acts as')
    // Accepted like every command's --json, so a script can pass it everywhere: the output is one JSON document.
    .option('--json', 'print the JSON only (always the case: accepted for scripts)')
    .action((opts: McpConfigOptions) => {
      runMcpConfig(opts, (line) => console.log(line))
    })
}
