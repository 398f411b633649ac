import { Writable } from 'node:stream'
import fc from 'fast-check'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { TesseraError, notFound } from '../../src/errors/index.ts'
import { isConnectionLevelError } from '../../src/executor/database-error-kind.ts'
import { mapDatabaseError } from '../../src/executor/map-database-error.ts'
import { PoolExhaustedError } from '../../src/executor/pool-exhausted-error.ts'

/** Shaped like pg-protocol's DatabaseError, with text that must never reach a caller. */
function dbError(code: string, severity = 'ERROR'): Error {
  return Object.assign(
    new Error(`duplicate key value violates unique constraint "users_tenant_id_email_key"`),
    {
      code,
      severity,
      detail:
        'Key (tenant_id, email)=(b0000000-0000-4000-8000-000000000000, bob@globex.test) already exists.',
      hint: 'secret hint',
      where: 'PL/pgSQL function leak()',
      constraint: 'users_tenant_id_email_key',
      table: 'users',
      column: 'email',
    },
  )
}

function capturingLogger(): { logger: pino.Logger; lines: () => Record<string, any>[] } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    },
  })
  const logger = pino({ level: 'trace' }, stream)
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  }
}

describe('mapDatabaseError', () => {
  it('passes a TesseraError through unchanged', () => {
    const err = notFound('Order')
    expect(mapDatabaseError(err, 'req-1')).toBe(err)
  })

  it.each([
    ['57014', 'TIMEOUT'],
    ['23505', 'VALIDATION_ERROR'],
    ['23503', 'NOT_FOUND'],
    ['23502', 'VALIDATION_ERROR'],
    ['23514', 'VALIDATION_ERROR'],
    ['22P02', 'VALIDATION_ERROR'],
    ['22021', 'VALIDATION_ERROR'],
    ['22003', 'VALIDATION_ERROR'],
    ['42501', 'INTERNAL_ERROR'],
    ['42P01', 'INTERNAL_ERROR'],
    ['42601', 'INTERNAL_ERROR'],
    ['25006', 'INTERNAL_ERROR'],
    ['40001', 'INTERNAL_ERROR'],
    ['57P01', 'INTERNAL_ERROR'],
    ['08006', 'INTERNAL_ERROR'],
    ['XX000', 'INTERNAL_ERROR'],
  ])('maps SQLSTATE %s to %s', (code, expected) => {
    expect(mapDatabaseError(dbError(code), 'req-1').code).toBe(expected)
  })

  it('words a unique violation uniformly, without constraint, column or key values', () => {
    const mapped = mapDatabaseError(dbError('23505'), 'req-1')
    expect(mapped.message).toBe('The write conflicts with an existing record')
    const text = JSON.stringify(mapped.toJSON())
    for (const leak of [
      'users_tenant_id_email_key',
      'email',
      'bob@globex.test',
      'b0000000',
      'duplicate key',
    ]) {
      expect(text).not.toContain(leak)
    }
  })

  it('words a foreign-key violation as a missing referenced record', () => {
    const mapped = mapDatabaseError(dbError('23503'), 'req-1')
    expect(mapped).toBeInstanceOf(TesseraError)
    expect(mapped.message).toBe('A referenced record does not exist')
  })

  it('quotes the request id in a timeout and in an internal error', () => {
    expect(mapDatabaseError(dbError('57014'), 'req-7').details).toEqual({ requestId: 'req-7' })
    expect(mapDatabaseError(dbError('42501'), 'req-7').details).toEqual({ requestId: 'req-7' })
  })

  it.each([
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a pg client error', new Error('Client has encountered a connection error and is not queryable')],
    ['pool exhaustion', new PoolExhaustedError(5000)],
    ['a thrown string', 'something odd'],
    ['null', null],
  ])('maps %s to INTERNAL_ERROR', (_label, err) => {
    const mapped = mapDatabaseError(err, 'req-2')
    expect(mapped.code).toBe('INTERNAL_ERROR')
    expect(mapped.message).toBe('Internal error')
  })

  it('never puts the database message, detail, hint or where into the caller-visible error', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          '23505',
          '23503',
          '23502',
          '22P02',
          '42501',
          '57014',
          '57P01',
          '08006',
          'XX000',
          'P0001',
        ),
        fc.string({ minLength: 1, maxLength: 40 }),
        (code, secret) => {
          const marker = `SECRET<${secret}>`
          const err = Object.assign(new Error(marker), {
            code,
            severity: 'ERROR',
            detail: marker,
            hint: marker,
            where: marker,
            query: marker,
          })
          const mapped = mapDatabaseError(err, 'req-3')
          expect(JSON.stringify(mapped.toJSON())).not.toContain('SECRET<')
          expect(mapped.message).not.toContain('SECRET<')
          expect(mapped.cause).toBeUndefined()
        },
      ),
    )
  })

  it('logs the original message and code with the request id at error level, but not the detail', () => {
    const { logger, lines } = capturingLogger()
    mapDatabaseError(dbError('23505'), 'req-9', logger)
    const [line] = lines()
    expect(line).toMatchObject({
      level: 50,
      requestId: 'req-9',
      dbError: { code: '23505', message: expect.stringContaining('users_tenant_id_email_key') },
    })
    expect(JSON.stringify(line)).not.toContain('bob@globex.test')
  })

  it('logs pool exhaustion as such', () => {
    const { logger, lines } = capturingLogger()
    mapDatabaseError(new PoolExhaustedError(250), 'req-4', logger)
    expect(lines()[0]).toMatchObject({
      requestId: 'req-4',
      dbError: { message: expect.stringContaining('pool exhausted') },
    })
  })

  it('does not log a TesseraError that passes through', () => {
    const { logger, lines } = capturingLogger()
    mapDatabaseError(notFound('Order'), 'req-5', logger)
    expect(lines()).toEqual([])
  })
})

describe('isConnectionLevelError', () => {
  it.each([
    ['57014', 'ERROR', false],
    ['23505', 'ERROR', false],
    ['42601', 'ERROR', false],
    ['40P01', 'ERROR', false],
    ['57P01', 'FATAL', true],
    ['57P05', 'FATAL', true],
    ['25P03', 'FATAL', true],
    ['08006', 'ERROR', true],
    ['58030', 'ERROR', true],
    ['XX000', 'ERROR', true],
  ])('classifies SQLSTATE %s with severity %s as connection-level: %s', (code, severity, expected) => {
    expect(isConnectionLevelError(Object.assign(new Error('x'), { code, severity }))).toBe(expected)
  })

  it('treats any error that is not a server-reported SQL error as connection-level', () => {
    expect(isConnectionLevelError(new Error('Connection terminated unexpectedly'))).toBe(true)
    expect(isConnectionLevelError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(true)
    expect(isConnectionLevelError('text')).toBe(true)
  })
})
