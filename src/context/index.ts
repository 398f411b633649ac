export { principalSchema, runContextSchema, parseRunContext } from './principal.ts'
export type { Principal, RunContext } from './principal.ts'
export { runWithContext, currentContext, requireContext } from './context-storage.ts'
