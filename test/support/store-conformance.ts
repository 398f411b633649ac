/**
 * The template every store passes (src/stores/index.ts): a conformance suite is a list of behaviour cases
 * written once against a store interface; each implementation runs the whole list by calling the suite with a
 * name and a factory. A new store passes by adding one call next to the others (test/db/store-conformance.test.ts).
 * Every case gets a fresh store, so cases never depend on each other's leftovers.
 */
import { describe, it } from 'vitest'

export interface ConformanceCase<S> {
  /** A behaviour sentence: what every implementation does. */
  readonly name: string
  readonly run: (store: S) => Promise<void>
}

export type ConformanceSuite<S> = (implementation: string, factory: () => S | Promise<S>) => void

export function defineConformance<S>(
  storeInterface: string,
  cases: readonly ConformanceCase<S>[],
): ConformanceSuite<S> {
  const names = new Set(cases.map((c) => c.name))
  if (names.size !== cases.length) throw new Error(`${storeInterface} conformance: duplicate case names`)
  return (implementation, factory) => {
    describe(`${storeInterface} conformance: ${implementation}`, () => {
      for (const c of cases) it(c.name, async () => c.run(await factory()))
    })
  }
}
