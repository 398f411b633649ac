#!/usr/bin/env node
// Runs the built CLI (dist/, produced by `npm run build`, which `npm ci` / `npm install` run through `prepare`).
// No TypeScript loader at run time.
import { existsSync } from 'node:fs'
import { URL } from 'node:url'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error('tessera: dist/ is missing — run `npm run build` in the package folder (a source checkout builds on `npm ci`).')
  process.exit(2)
}
await import(main.href)
