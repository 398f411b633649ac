/**
 * Helpers for the executor and dialect suites, which count sessions and assert refusals.
 */
import pg from 'pg'
import { expect } from 'vitest'
import { TesseraError } from '../../src/errors/index.ts'
import type { TestDatabase } from './databases.ts'

/**
 * A pool on the test database with room for `max` sessions, for a test that needs consecutive statements on
 * one session (`max` 1) or two sessions at once. PGlite has one session whatever the pool and its app pool must not be
 * cloned (its clients share one protocol object), so that pool serves (`owned: false`: the suite must not end it).
 */
export function sessionPool(database: TestDatabase, max: number): { pool: pg.Pool; owned: boolean } {
  if (database.kind === 'pglite') return { pool: database.appPool, owned: false }
  return { pool: new pg.Pool({ ...database.appPool.options, max }), owned: true }
}

/** The TesseraError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<TesseraError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(TesseraError)
    return err as TesseraError
  }
  throw new Error('expected the call to fail')
}
