/**
 * The eval harness (docs/contract.md §7): runs tool calls and checks each against the database itself — every returned
 * row re-read through an unscoped oracle and judged by the reference policy — plus YAML suites, generated
 * isolation suites, the adversarial fuzzer and record/replay. Public at `tessera-db/eval`.
 */
export { EvalHarness, ALL_INVARIANTS, INVARIANT_NAMES, invariantByName } from './eval-harness.ts'
export type { EvalHarnessOptions, EvalRequest, EvalRunResult, InvariantName } from './eval-harness.ts'
export { toInvariant, describeCall, violation } from './invariant.ts'
export type {
  EvalCall,
  EvalOutcome,
  Invariant,
  InvariantContext,
  InvariantFunction,
  InvariantLike,
  Violation,
} from './invariant.ts'
export { noCrossTenantData, noDeniedFields, maskedFieldsMasked, withinBudget } from './read-invariants.ts'
export { writesStayInScope, everyCallAudited, WRITE_TOOLS } from './write-invariants.ts'
export { RowOracle, ORACLE_TABLE_CAP, sameValue } from './row-oracle.ts'
export type { StoredRow, OracleVisibility } from './row-oracle.ts'
export { loadSuiteFile, parseSuite, suiteSchema, suiteToYaml } from './suite-file.ts'
export type { EvalSuite, EvalCase, EvalExpect, LoadedSuite } from './suite-file.ts'
export { runSuite, suitePassed, resultRows } from './run-suite.ts'
export type { CaseReport, SuiteReport } from './run-suite.ts'
export { openEvalDatabase, harnessFor, fixtureSql, FIXTURE_APP_ROLE } from './eval-target.ts'
export type { EvalDatabase, HarnessOptions } from './eval-target.ts'
export { generateIsolationSuite } from './generate-suite.ts'
export type { GenerateOptions } from './generate-suite.ts'
export { generatePrincipals, sampleTenants, MAX_GENERATED_TENANTS } from './generate-principals.ts'
export type { GeneratedPrincipal } from './generate-principals.ts'
export { runEvals } from './run-evals.ts'
export type { EvalRunOptions, EvalRunReport } from './run-evals.ts'
export { summaryLines, junitXml, jsonReport, runReportInput } from './eval-report.ts'
export type { ReportInput } from './eval-report.ts'
export { expectSuitePasses, expectNoCrossTenantLeaks, EvalAssertionError } from './expect-evals.ts'
export type { EvalTarget } from './expect-evals.ts'
export { fuzz, sampleFuzzData } from './fuzz.ts'
export type { FuzzOptions, FuzzReport } from './fuzz.ts'
export { fuzzCallArb } from './fuzz-arbitraries.ts'
export type { FuzzCall, FuzzSamples } from './fuzz-arbitraries.ts'
export {
  recordingToolset,
  recordingFile,
  outcomeOf,
  recordedCallSchema,
  recordingHeaderSchema,
  RECORDING_VERSION,
} from './call-recording.ts'
export type { RecordedCall, RecordedOutcome, RecordingHeader, CallSink } from './call-recording.ts'
export { replayCalls, replayLines, parseRecording, loadRecording } from './replay-calls.ts'
export type { ReplayChange, ReplayedCall, ReplayReport, Recording } from './replay-calls.ts'
