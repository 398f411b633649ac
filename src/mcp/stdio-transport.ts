/**
 * MCP over stdio: a local, single-principal use. The principal comes from the server's own configuration,
 * never from the client; stdout carries protocol messages only (logs go to stderr).
 */
import type { Readable, Writable } from 'node:stream'
import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { RunContext } from '../context/index.ts'

export type ProtocolServerFactory = (ctx: RunContext, rateKey: string) => Server

export interface StdioOptions {
  readonly stdin?: Readable
  readonly stdout?: Writable
}

export interface RunningStdio {
  /** Resolves when the client closes the connection (stdin ends). */
  readonly closed: Promise<void>
  close(): Promise<void>
}

export async function serveStdio(
  factory: ProtocolServerFactory,
  ctx: RunContext,
  options: StdioOptions = {},
): Promise<RunningStdio> {
  const server = factory(ctx, 'stdio')
  const transport = new StdioServerTransport(options.stdin ?? process.stdin, options.stdout ?? process.stdout)
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve()
  })
  const stdin = options.stdin ?? process.stdin
  stdin.once('end', () => {
    void server.close()
  })
  await server.connect(transport)
  return {
    closed,
    async close() {
      await server.close()
    },
  }
}
