/**
 * The MCP server (`tessera-db/mcp`): the toolset over stdio and stateless Streamable HTTP, with verified
 * credentials (API keys, JWT) as the only source of the principal, per-principal tool lists, rate limits and
 * health endpoints.
 */
export { createMcpServer } from './create-mcp-server.ts'
export type { McpServerOptions, TesseraMcpServer, ListeningServer } from './create-mcp-server.ts'
export { authConfigSchema, parseAuthConfig, loadAuthConfig, JWT_ALGORITHMS } from './auth-config.ts'
export type { AuthConfig, AuthConfigInput, ApiKeyEntry } from './auth-config.ts'
export { createAuthenticator, hashApiKey, generateApiKey, API_KEY_PREFIX } from './authenticator.ts'
export type { Authenticator, Authenticated } from './authenticator.ts'
export { createFileAuthenticator } from './file-authenticator.ts'
export type { FileAuthenticator } from './file-authenticator.ts'
export { CallGate } from './call-gate.ts'
export type { RateLimit, RateLimits } from './call-gate.ts'
export { toCallToolResult } from './call-tool-result.ts'
export type { CallToolResult } from './call-tool-result.ts'
export { SCHEMA_RESOURCE_URI } from './protocol-server.ts'
export { MCP_PATH, RESOURCE_METADATA_PATH, DEFAULT_MAX_BODY_BYTES } from './http-handler.ts'
export type { HttpHandler } from './http-handler.ts'
export type { RunningStdio, StdioOptions } from './stdio-transport.ts'
export { describeWrite } from '../tools/index.ts'
