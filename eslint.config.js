// Lint rules: typescript-eslint's recommended set plus the project's own bans (see README "How we write code").
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'coverage/**',
      '.ci/**',
      '.tessera-tmp/**',
      '*.cjs',
      'bench/peers/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    // stdout is the MCP stdio channel: library code logs through pino only.
    rules: { 'no-console': 'error' },
  },
  {
    // Query builders live in src/sql/ only (README "Layout"): everything else runs the compiled statements sql/
    // printed, or constant catalog/store text as CompiledQuery.raw with bound parameters.
    files: ['src/**/*.ts'],
    ignores: ['src/sql/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kysely',
              importNames: ['sql', 'expressionBuilder', 'ExpressionWrapper', 'AliasedExpressionWrapper'],
              message: 'Kysely query builders belong in src/sql/; run a compiled statement instead.',
            },
          ],
          patterns: [{ group: ['kysely/helpers/*'], message: 'Kysely helpers belong in src/sql/.' }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(selectFrom|selectNoFrom|insertInto|replaceInto|updateTable|deleteFrom|mergeInto)$/]',
          message: 'Kysely query builders belong in src/sql/; run a compiled statement instead.',
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
)
