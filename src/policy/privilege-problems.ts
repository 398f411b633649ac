/**
 * The writes a policy allows against the privileges of the role the schema was introspected as (issue 9,
 * item 15): a model that allows create on a table the role cannot INSERT into would only fail at the first call,
 * as an internal error. Soft delete is an UPDATE; a hard delete needs DELETE; a create needs USAGE on the
 * sequence of each serial column. Table-level grants only, as for SELECT (src/schema/introspect-schema.ts).
 */
import type { PolicyProblem } from '../errors/index.ts'
import type { TableInfo } from '../schema/index.ts'
import type { ModelPolicy } from './types.ts'

type Privilege = 'INSERT' | 'UPDATE' | 'DELETE'

export function privilegeProblems(
  model: ModelPolicy,
  table: TableInfo,
  role: string | undefined,
  at: (...path: string[]) => string,
): PolicyProblem[] {
  const granted = table.privileges
  if (granted === undefined) return []
  const write = model.write
  const needs: { readonly action: 'create' | 'update' | 'delete'; readonly privilege: Privilege }[] = []
  if (write.create !== 'deny') needs.push({ action: 'create', privilege: 'INSERT' })
  if (write.update !== 'deny') needs.push({ action: 'update', privilege: 'UPDATE' })
  if (write.delete !== 'deny') {
    if (write.softDelete !== null) needs.push({ action: 'delete', privilege: 'UPDATE' })
    if (write.softDelete === null || write.allowHardDelete)
      needs.push({ action: 'delete', privilege: 'DELETE' })
  }
  const who = role === undefined ? 'the role' : `role '${role}'`
  const grantee = role ?? '<role>'
  const qualified = `${table.schema}.${table.name}`
  const problems: PolicyProblem[] = []
  for (const { action, privilege } of needs) {
    const has =
      privilege === 'INSERT' ? granted.insert : privilege === 'UPDATE' ? granted.update : granted.delete
    if (has) continue
    const what = action === 'delete' && privilege === 'UPDATE' ? 'delete (a soft delete)' : action
    const object = privilege === 'INSERT' ? 'into it' : privilege === 'DELETE' ? 'from it' : 'it'
    problems.push({
      path: at('write', action),
      message:
        `the policy allows ${what} on table '${table.key}', but ${who} cannot ${privilege} ${object}: ` +
        `GRANT ${privilege} ON ${qualified} TO ${grantee}, or set write.${action}: deny`,
    })
  }
  // With INSERT but not the sequence of a serial column, every create would fail as an internal error.
  if (write.create !== 'deny' && granted.insert) {
    for (const { column, sequence } of granted.unusableSequences ?? []) {
      problems.push({
        path: at('write', 'create'),
        message:
          `the policy allows create on table '${table.key}', but ${who} cannot use sequence '${sequence}' ` +
          `(the default of column '${column}'): GRANT USAGE ON SEQUENCE ${sequence} TO ${grantee}, ` +
          'or set write.create: deny',
      })
    }
  }
  return problems
}
