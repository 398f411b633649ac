/**
 * How an RLS policy reads the principal: from the transaction-local `tessera.*` settings the executor sets for
 * every call in `rls` / `both` mode (src/executor/executor.ts, `claimSettingNames`). Every read goes through
 * `nullif(current_setting(name, true), '')`: `true` makes a missing setting NULL instead of an error, and
 * `nullif` turns the `''` a connection reports after an earlier transaction set the name back into NULL
 * (docs/threats.md fact 4). NULL compares as unknown, so an unset claim matches no row.
 *
 * All text here is built from constants and from principal path segments, which the policy parser restricts
 * to `[A-Za-z_][A-Za-z0-9_]*` (src/policy/principal-path.ts); nothing comes from a request.
 */
import { claimSettingNames } from '../executor/index.ts'
import type { PrincipalPath } from '../policy/index.ts'
import { quoteLiteral } from './sql-text.ts'

/** `nullif(current_setting('tessera.x', true), '')`: the claim as text, NULL when unset. */
export function claimText(setting: string): string {
  return `nullif(current_setting(${quoteLiteral(setting)}, true), '')`
}

/**
 * The principal value at `path` as jsonb, SQL NULL when the principal has none (a JSON `null` in metadata
 * counts as none, as `resolvePrincipalPath` treats it).
 */
export function claimJson(path: PrincipalPath): string {
  const [root, ...keys] = path
  switch (root) {
    case 'tenantId':
      return `to_jsonb(${claimText(claimSettingNames.tenantId)})`
    case 'userId':
      return `to_jsonb(${claimText(claimSettingNames.userId)})`
    case 'roles':
      return `(${claimText(claimSettingNames.roles)})::jsonb`
    case 'metadata':
      // `#>` walks objects by key; the segments are plain identifiers, so the text[] literal needs no quoting.
      return `nullif((${claimText(claimSettingNames.metadata)})::jsonb #> '{${keys.join(',')}}', 'null'::jsonb)`
    default: {
      const never: never = root
      throw new Error(`unhandled principal root ${String(never)}`)
    }
  }
}

/**
 * The principal value at `path` as text when it is a single value (string, number, boolean), else NULL — the
 * shape `requirePrincipalScalar` accepts. This is what is cast to a column's type and compared with it.
 */
export function claimScalarText(path: PrincipalPath): string {
  const [root] = path
  if (root === 'tenantId') return claimText(claimSettingNames.tenantId)
  if (root === 'userId') return claimText(claimSettingNames.userId)
  const json = claimJson(path)
  return `(case when jsonb_typeof(${json}) in ('string', 'number', 'boolean') then ${json} #>> '{}' end)`
}

/**
 * The principal list at `path` as an array of the column's type, NULL when the value is missing or not a list
 * (`requirePrincipalList` refuses both; an empty list stays an empty array, so `x NOT IN ()` holds).
 */
export function claimArray(path: PrincipalPath, elementType: string): string {
  const json = claimJson(path)
  return (
    `(case when jsonb_typeof(${json}) = 'array' then ` +
    `array(select e #>> '{}' from jsonb_array_elements(${json}) as e)::${elementType}[] end)`
  )
}
