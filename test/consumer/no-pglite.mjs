// Run from the throwaway app before @electric-sql/pglite is installed: the package imports without its
// optional peer dependency, and the embedded engine fails with a message naming the package to install.
import assert from 'node:assert/strict'
import * as tessera from 'tessera-db'
import * as policy from 'tessera-db/policy'
import * as embedded from 'tessera-db/embedded'

assert.equal(typeof tessera.createToolset, 'function')
assert.equal(typeof tessera.createPostgresDatabase, 'function')
assert.equal(typeof policy.definePolicy, 'function')
await assert.rejects(embedded.createPgliteDatabase(), (error) => {
  assert.match(error.message, /npm install @electric-sql\/pglite/)
  return true
})
console.log('consumer without PGlite: import ok, embedded engine names the missing package')
