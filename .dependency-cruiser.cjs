// Layers (README "Layout"): each folder of src/ may import only the folders below it in this list, and only
// through their index.ts. errors/context/schema/json are leaves (they may import errors); eval/rls/mcp/cli sit
// on top. Tests may import deep paths; src may not.
const LAYERS = [
  ['errors'],
  ['context', 'schema', 'json'],
  ['policy'],
  ['request'],
  ['planner'],
  ['sql'],
  ['executor'],
  ['stores'],
  ['tools'],
  ['eval', 'rls', 'mcp'],
  ['cli'],
]
const ALL = LAYERS.flat()
const below = (folder) => {
  const level = LAYERS.findIndex((l) => l.includes(folder))
  // The leaves may use errors; the other folders of their own level are off limits.
  return folder === 'errors' ? [] : level === 1 ? ['errors'] : LAYERS.slice(0, level).flat()
}
const layerRules = ALL.map((folder) => ({
  name: `${folder}-imports-only-lower-layers`,
  comment: `src/${folder}/ may import ${below(folder).join(', ') || 'no other folder'}`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: `^src/(${ALL.filter((f) => f !== folder && !below(folder).includes(f)).join('|')})/` },
}))

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    ...layerRules,
    {
      name: 'no-deep-imports-across-folders',
      comment: 'a file in src/X imports src/Y only through src/Y/index.ts',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'sql-does-not-read-requests',
      comment: 'src/sql prints plans; the request DSL is the planner\'s input, never the printer\'s',
      severity: 'error',
      from: { path: '^src/sql/' },
      to: { path: '^src/request/' },
    },
    {
      name: 'only-sql-imports-kysely-helpers',
      comment: 'kysely/helpers/* are query builders: src/sql is their only importer',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/sql/' },
      to: { path: 'node_modules/kysely/dist/[^/]+/helpers/' },
    },
    {
      name: 'kysely-values-only-below-tools',
      comment:
        'outside sql/executor/stores/schema kysely is imported for types only; there, only the driver side ' +
        '(Kysely, CompiledQuery, the dialect): eslint no-restricted-imports/no-restricted-syntax keeps the query ' +
        'builders (sql, expressionBuilder, selectFrom, …) in src/sql/',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sql|executor|stores|schema)/' },
      to: { path: 'node_modules/kysely/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'policy-never-imports-kysely',
      severity: 'error',
      from: { path: '^src/(policy|request|planner|errors|context|json)/' },
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
