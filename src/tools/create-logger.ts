/**
 * Structured logs (pino): one line per tool call from a child logger bound to the call's request id and tool
 * (call-audit.ts). Give the toolset the host application's logger, or this one: JSON to stderr — stdout may
 * belong to a protocol (the MCP stdio transport) — with redaction configured at the root, so a secret passed
 * to any log call by any code path is censored before it is written.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'
import { REDACTED, redactImageSecrets } from '../stores/index.ts'

/** Log paths censored at the root (pino redact syntax). Tessera's own lines never carry these; the host's might. */
export const LOG_REDACT_PATHS: readonly string[] = [
  'inputs',
  'args',
  'data',
  'before',
  'after',
  'rows',
  'row',
  'filter',
  '*.password',
  '*.password_hash',
  '*.token',
  '*.api_token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
]

export interface TesseraLoggerOptions {
  /** pino level (default `info`). */
  readonly level?: LoggerOptions['level']
  /** Where lines go (default stderr, file descriptor 2). */
  readonly destination?: DestinationStream
}

export function createTesseraLogger(options: TesseraLoggerOptions = {}): Logger {
  return pino(
    {
      name: 'tessera',
      level: options.level ?? 'info',
      redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
      // Paths name keys one level down only: every key the audit treats as a secret (stores/secret-key.ts) is
      // censored at any depth too, by the same test, so a log line never shows what the audit hides.
      formatters: { log: (object) => redactImageSecrets(object) as Record<string, unknown> },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  )
}

let fallback: Logger | undefined

/** For failures that must be reported even when the host gave no logger: errors only, to stderr. */
export function fallbackLogger(): Logger {
  fallback ??= createTesseraLogger({ level: 'error' })
  return fallback
}
