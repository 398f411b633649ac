/**
 * `tessera demo --serve`: the scripted demo, then the MCP server on the same kind of embedded database. The
 * transcript and the client configuration go to stderr, because on stdio the protocol owns stdout.
 */
import { createCliOutput } from './cli-output.ts'
import { runDemo } from './demo-command.ts'
import { runMcpConfig } from './mcp-config-command.ts'
import { reportErrors } from './report-errors.ts'
import { runServe } from './serve-command.ts'

export async function runDemoServe(opts: { json?: boolean; http?: string }): Promise<number> {
  const toStderr = { write: (text: string) => void process.stderr.write(text), isTTY: process.stderr.isTTY }
  await runDemo({ output: createCliOutput({ json: opts.json === true, stdout: toStderr, stderr: toStderr }) })
  const err = (line: string): void => console.error(line)
  err('\nServing the demo database over MCP. Client configuration to paste:')
  runMcpConfig(opts.http === undefined ? {} : { url: `http://${opts.http}/mcp` }, err)
  await reportErrors(() =>
    runServe({ demo: true, ...(opts.http === undefined ? {} : { http: opts.http, dev: true }) }, err),
  )
  return typeof process.exitCode === 'number' ? process.exitCode : 0
}
