// Dependency direction (README "Layout"): errors/context/schema/audit are leaves;
// policy <- planner <- executor <- tools <- mcp/cli; nothing in src imports eval harness internals from outside src/eval.
const layer = (from, forbidden) => ({
  name: `${from}-must-not-import-${forbidden.join('-')}`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: `^src/(${forbidden.join('|')})/` },
})
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    layer('errors', ['context', 'policy', 'schema', 'planner', 'executor', 'tools', 'audit', 'eval', 'rls', 'mcp', 'cli']),
    layer('context', ['policy', 'schema', 'planner', 'executor', 'tools', 'audit', 'eval', 'rls', 'mcp', 'cli']),
    layer('schema', ['policy', 'planner', 'executor', 'tools', 'audit', 'eval', 'rls', 'mcp', 'cli']),
    layer('audit', ['policy', 'planner', 'executor', 'tools', 'eval', 'rls', 'mcp', 'cli']),
    layer('policy', ['planner', 'executor', 'tools', 'audit', 'eval', 'rls', 'mcp', 'cli']),
    layer('planner', ['executor', 'tools', 'eval', 'rls', 'mcp', 'cli']),
    layer('executor', ['tools', 'eval', 'rls', 'mcp', 'cli']),
    layer('tools', ['eval', 'mcp', 'cli']),
    {
      name: 'policy-must-not-import-kysely',
      severity: 'error',
      from: { path: '^src/(policy|errors|context)/' },
      to: { path: 'node_modules/kysely' },
    },
    { name: 'src-must-not-import-test', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|evals|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
