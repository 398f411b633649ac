/**
 * Compiles PGlite's WebAssembly while the command's own modules load. PGlite compiles its 9 MB module on
 * background threads when it starts, and the main thread waits for it; started here, before `check` or `demo`
 * imports its code (Kysely, zod, pg: a few hundred milliseconds of main-thread work), the two overlap.
 * Imports nothing but node built-ins, so `--help` stays light. Any failure (PGlite not installed, a layout this
 * code does not know) leaves PGlite to compile the module itself, as without a warm-up.
 */
import type { PGliteOptions } from '@electric-sql/pglite'
import { readFile } from 'node:fs/promises'

/** A compiled `pglite.wasm` (PGlite's own type for it: this project's lib declares no WebAssembly). */
type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>

/** The one call made on the global WebAssembly object, which the project's lib (ES2023, no DOM) does not declare. */
interface WasmCompiler {
  compile(bytes: Uint8Array): Promise<WasmModule>
}
const wasm = (globalThis as unknown as { readonly WebAssembly: WasmCompiler }).WebAssembly

let started: Promise<WasmModule | undefined> | undefined

/** Starts compiling once; later calls are no-ops. */
export function startPgliteWarmup(): void {
  started ??= compile().catch(() => undefined)
}

/** The compiled module when a warm-up was started and succeeded; otherwise undefined. */
export function pgliteWasmModule(): Promise<WasmModule | undefined> {
  return started ?? Promise.resolve(undefined)
}

async function compile(): Promise<WasmModule> {
  // pglite.wasm sits next to PGlite's entry point (dist/index.js), where PGlite itself loads it from.
  const file = new URL('./pglite.wasm', import.meta.resolve('@electric-sql/pglite'))
  return wasm.compile(await readFile(file))
}
