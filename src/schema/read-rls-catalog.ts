/**
 * The catalog facts the RLS posture check (src/rls/check-rls-posture.ts) judges: who the application role is
 * (superuser, BYPASSRLS, owner or member of the owner of a table — each makes RLS not apply to it, docs/threats.md
 * fact 5) and, per table, whether RLS is enabled and forced and which policies exist, with PostgreSQL's
 * stored text of their expressions. Read in one read-only transaction as the role to judge, so the answer is
 * about that role and one snapshot.
 */
import { CompiledQuery, type Transaction } from 'kysely'
import { internalError, isTesseraError, validationError } from '../errors/index.ts'
import type { AnyDatabase } from './any-database.ts'

export interface RlsRoleFacts {
  readonly name: string
  readonly superuser: boolean
  readonly bypassRls: boolean
}

export interface RlsPolicyFacts {
  readonly name: string
  /** `select`, `insert`, `update`, `delete` or `all`. */
  readonly command: 'select' | 'insert' | 'update' | 'delete' | 'all'
  readonly permissive: boolean
  /** Role names the policy applies to; `public` for PUBLIC. */
  readonly roles: readonly string[]
  readonly using: string | null
  readonly check: string | null
  readonly comment: string | null
  /** md5 of `using|check` as PostgreSQL prints them: the generator records the same hash in the comment. */
  readonly expressionHash: string
}

export interface RlsTableFacts {
  readonly schema: string
  readonly name: string
  /** False when the table does not exist (or the role cannot see it in the catalog). */
  readonly exists: boolean
  readonly owner: string | null
  /** The role is the owner or a member of the owning role: it could ALTER or DISABLE the table's RLS. */
  readonly roleOwns: boolean
  readonly rlsEnabled: boolean
  readonly rlsForced: boolean
  readonly policies: readonly RlsPolicyFacts[]
  /**
   * Views and materialized views over the table that the role may SELECT and through which RLS does not apply
   * to it: a materialized view (a snapshot, never filtered), or a view without `security_invoker` whose owner
   * is a superuser or has BYPASSRLS (it reads the table as its owner, docs/threats.md fact 5). Absent when not read.
   */
  readonly bypassingViews?: readonly RlsViewFacts[]
  /**
   * Partitions and inheritance children of the table (at any depth, `schema.name`, each part quoted where SQL needs it, so the
   * text pastes into a remedy) that the role may SELECT,
   * INSERT, UPDATE or DELETE and that row-level security does not guard for it: RLS is off there, the child has
   * a permissive policy of its own, or the role owns it (or is a member of its owner). A statement that names one
   * directly gets none of the table's policies. Absent when not read.
   */
  readonly bypassingChildren?: readonly string[]
  /**
   * Inheritance parents of the table (at any depth, `schema.name`, quoted as above), not themselves model tables, that the role
   * may SELECT, UPDATE or DELETE and that row-level security does not guard for it (as for children). A statement
   * naming a parent reaches the table's rows under the parent's policies — none when RLS is off there. Absent
   * when not read.
   */
  readonly bypassingParents?: readonly string[]
  /**
   * Triggers on the table whose function is SECURITY DEFINER and owned by a superuser or a BYPASSRLS role:
   * every statement the function runs is its owner's, to whom row-level security does not apply. Disabled
   * triggers are left out. Absent when not read.
   */
  readonly bypassingTriggers?: readonly RlsTriggerFacts[]
}

export interface RlsTriggerFacts {
  readonly name: string
  /** `schema.name()` of the trigger's function. */
  readonly function: string
  readonly owner: string
}

export interface RlsViewFacts {
  /** `schema.name` of the view. */
  readonly name: string
  readonly materialized: boolean
  readonly owner: string
}

export interface RlsCatalog {
  readonly role: RlsRoleFacts
  /** Whether `standard_conforming_strings` is on: generated policy literals are written for it. */
  readonly standardConformingStrings: boolean
  readonly tables: readonly RlsTableFacts[]
}

export interface ReadRlsCatalogOptions {
  /** Role to judge (`set_config('role', …, true)`), for a session that is not that role; default: the session's. */
  readonly role?: string
}

type AnyTransaction = Transaction<any> // eslint-disable-line @typescript-eslint/no-explicit-any -- why: only catalog tables are read, through compiled statements (constant text, bound values)

const COMMANDS = { r: 'select', a: 'insert', w: 'update', d: 'delete', '*': 'all' } as const

export async function readRlsCatalog(
  db: AnyDatabase,
  tables: readonly { readonly schema: string; readonly name: string }[],
  options: ReadRlsCatalogOptions = {},
): Promise<RlsCatalog> {
  const role = options.role
  if (role !== undefined && (role.length === 0 || role.includes('\u0000'))) {
    throw validationError('The role name must be a non-empty string without NUL characters')
  }
  try {
    return await db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        if (role !== undefined)
          await trx.executeQuery<unknown>(CompiledQuery.raw(`select set_config('role', $1, true)`, [role]))
        return await read(trx, tables)
      })
  } catch (error) {
    if (isTesseraError(error)) throw error
    throw internalError(undefined, error)
  }
}

interface RoleRow {
  readonly name: string
  readonly superuser: boolean
  readonly bypass_rls: boolean
  readonly scs: string
}

interface TableRow {
  readonly schema: string
  readonly name: string
  readonly oid: string | null
  readonly owner: string | null
  readonly role_owns: boolean | null
  readonly rls_enabled: boolean | null
  readonly rls_forced: boolean | null
}

interface ChildRow {
  readonly table_oid: string
  readonly name: string
}

interface TriggerRow {
  readonly table_oid: string
  readonly name: string
  readonly function: string
  readonly owner: string
}

interface ViewRow {
  readonly table_oid: string
  readonly name: string
  readonly materialized: boolean
  readonly owner: string
}

interface PolicyRow {
  readonly table_oid: string
  readonly name: string
  readonly cmd: string
  readonly permissive: boolean
  readonly roles: string[]
  readonly using_text: string | null
  readonly check_text: string | null
  readonly comment: string | null
  readonly expression_hash: string
}

async function read(
  trx: AnyTransaction,
  tables: readonly { readonly schema: string; readonly name: string }[],
): Promise<RlsCatalog> {
  const roleResult = await trx.executeQuery<RoleRow>(
    CompiledQuery.raw(
      `
    select r.rolname as name, r.rolsuper as superuser, r.rolbypassrls as bypass_rls,
           current_setting('standard_conforming_strings') as scs
    from pg_catalog.pg_roles r where r.rolname = current_user`,
      [],
    ),
  )
  const roleRow = roleResult.rows[0]
  if (!roleRow) throw internalError(undefined, new Error('current_user not found in pg_roles'))

  const schemas = tables.map((t) => t.schema)
  const names = tables.map((t) => t.name)
  const tableResult = await trx.executeQuery<TableRow>(
    CompiledQuery.raw(
      `
    select wanted.schema, wanted.name, c.oid::text as oid, o.rolname as owner,
           case when c.oid is null then null else pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER') end
             as role_owns,
           c.relrowsecurity as rls_enabled, c.relforcerowsecurity as rls_forced
    from unnest($1::text[], $2::text[]) as wanted(schema, name)
    left join pg_catalog.pg_namespace n on n.nspname = wanted.schema
    left join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = wanted.name and c.relkind in ('r', 'p')
    left join pg_catalog.pg_roles o on o.oid = c.relowner`,
      [schemas, names],
    ),
  )
  const oids = tableResult.rows.flatMap((r) => (r.oid === null ? [] : [r.oid]))
  const policyResult =
    oids.length === 0
      ? { rows: [] as PolicyRow[] }
      : await trx.executeQuery<PolicyRow>(
          CompiledQuery.raw(
            `
    select p.polrelid::text as table_oid, p.polname as name, p.polcmd::text as cmd, p.polpermissive as permissive,
           array(select case when r = 0 then 'public' else (select rolname from pg_catalog.pg_roles where oid = r) end
                 from unnest(p.polroles) as r)::text[] as roles,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_text,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check_text,
           pg_catalog.obj_description(p.oid, 'pg_policy') as comment,
           md5(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || '|' ||
               coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '')) as expression_hash
    from pg_catalog.pg_policy p
    where p.polrelid = any($1::oid[])
    order by p.polrelid, p.polname`,
            [oids],
          ),
        )

  // A view's rewrite rule depends on every table it reads. RLS applies through a plain view only as the view's
  // owner (or as the caller with security_invoker, PostgreSQL 15+); a materialized view is never filtered.
  const viewResult =
    oids.length === 0
      ? { rows: [] as ViewRow[] }
      : await trx.executeQuery<ViewRow>(
          CompiledQuery.raw(
            `
    select distinct d.refobjid::text as table_oid, pg_catalog.quote_ident(vn.nspname) || '.' || pg_catalog.quote_ident(v.relname) as name,
           v.relkind = 'm' as materialized, vo.rolname as owner
    from pg_catalog.pg_depend d
    join pg_catalog.pg_rewrite rw on rw.oid = d.objid
    join pg_catalog.pg_class v on v.oid = rw.ev_class
    join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
    join pg_catalog.pg_roles vo on vo.oid = v.relowner
    where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
      and d.refobjid = any($1::oid[]) and v.oid <> d.refobjid and v.relkind in ('v', 'm')
      and pg_catalog.has_table_privilege(v.oid, 'SELECT, INSERT, UPDATE, DELETE')
      and (v.relkind = 'm' or ((vo.rolsuper or vo.rolbypassrls) and not exists (
        select 1 from unnest(coalesce(v.reloptions, '{}'::text[])) as o(opt)
        where lower(o.opt) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=yes',
                               'security_invoker=1'))))
    order by 2`,
            [oids],
          ),
        )

  // Policies of a partitioned (or inherited) table apply to queries that name it; a query naming a partition
  // or child gets only that relation's own policies, and with RLS off there, none.
  const childResult =
    oids.length === 0
      ? { rows: [] as ChildRow[] }
      : await trx.executeQuery<ChildRow>(
          CompiledQuery.raw(
            `
    with recursive tree (root, child, depth) as (
      select i.inhparent, i.inhrelid, 1 from pg_catalog.pg_inherits i where i.inhparent = any($1::oid[])
      union all
      select tree.root, i.inhrelid, tree.depth + 1
      from tree join pg_catalog.pg_inherits i on i.inhparent = tree.child where tree.depth < 32
    )
    select distinct tree.root::text as table_oid, pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.relname) as name
    from tree
    join pg_catalog.pg_class c on c.oid = tree.child
    join pg_catalog.pg_namespace cn on cn.oid = c.relnamespace
    where pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')
      and (not c.relrowsecurity or pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
           or exists (select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid and p.polpermissive))
    order by 2`,
            [oids],
          ),
        )

  // The other way up (red team, marketplace schema): a model on an inheritance child is read through its parent
  // too, under the parent's policies only; a parent that is a model table itself is judged as one.
  const parentResult =
    oids.length === 0
      ? { rows: [] as ChildRow[] }
      : await trx.executeQuery<ChildRow>(
          CompiledQuery.raw(
            `
    with recursive tree (leaf, parent, depth) as (
      select i.inhrelid, i.inhparent, 1 from pg_catalog.pg_inherits i where i.inhrelid = any($1::oid[])
      union all
      select tree.leaf, i.inhparent, tree.depth + 1
      from tree join pg_catalog.pg_inherits i on i.inhrelid = tree.parent where tree.depth < 32
    )
    select distinct tree.leaf::text as table_oid, pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname) as name
    from tree
    join pg_catalog.pg_class p on p.oid = tree.parent
    join pg_catalog.pg_namespace pn on pn.oid = p.relnamespace
    where not (tree.parent = any($1::oid[]))
      and pg_catalog.has_table_privilege(p.oid, 'SELECT, UPDATE, DELETE')
      and (not p.relrowsecurity or pg_catalog.pg_has_role(current_user, p.relowner, 'MEMBER')
           or exists (select 1 from pg_catalog.pg_policy x where x.polrelid = p.oid and x.polpermissive))
    order by 2`,
            [oids],
          ),
        )

  // A SECURITY DEFINER function runs as its owner; RLS never applies to a superuser or BYPASSRLS owner.
  const triggerResult =
    oids.length === 0
      ? { rows: [] as TriggerRow[] }
      : await trx.executeQuery<TriggerRow>(
          CompiledQuery.raw(
            `
    select t.tgrelid::text as table_oid, t.tgname as name, pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '()' as function,
           po.rolname as owner
    from pg_catalog.pg_trigger t
    join pg_catalog.pg_proc p on p.oid = t.tgfoid
    join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
    join pg_catalog.pg_roles po on po.oid = p.proowner
    where t.tgrelid = any($1::oid[]) and not t.tgisinternal and t.tgenabled <> 'D' and p.prosecdef
      and (po.rolsuper or po.rolbypassrls)
    order by 1, 2`,
            [oids],
          ),
        )

  return {
    role: { name: roleRow.name, superuser: roleRow.superuser, bypassRls: roleRow.bypass_rls },
    standardConformingStrings: roleRow.scs === 'on',
    tables: tableResult.rows.map((t) => ({
      schema: t.schema,
      name: t.name,
      exists: t.oid !== null,
      owner: t.owner,
      roleOwns: t.role_owns === true,
      rlsEnabled: t.rls_enabled === true,
      rlsForced: t.rls_forced === true,
      bypassingChildren: childResult.rows.filter((c) => c.table_oid === t.oid).map((c) => c.name),
      bypassingParents: parentResult.rows.filter((c) => c.table_oid === t.oid).map((c) => c.name),
      bypassingTriggers: triggerResult.rows
        .filter((r) => r.table_oid === t.oid)
        .map((r) => ({ name: r.name, function: r.function, owner: r.owner })),
      bypassingViews: viewResult.rows
        .filter((v) => v.table_oid === t.oid)
        .map((v) => ({ name: v.name, materialized: v.materialized, owner: v.owner })),
      policies: policyResult.rows
        .filter((p) => p.table_oid === t.oid)
        .map((p) => ({
          name: p.name,
          command: commandOf(p.cmd),
          permissive: p.permissive,
          roles: p.roles,
          using: p.using_text,
          check: p.check_text,
          comment: p.comment,
          expressionHash: p.expression_hash,
        })),
    })),
  }
}

function commandOf(cmd: string): RlsPolicyFacts['command'] {
  const command = (COMMANDS as Readonly<Record<string, RlsPolicyFacts['command']>>)[cmd]
  if (command === undefined) throw internalError(undefined, new Error(`unknown policy command '${cmd}'`))
  return command
}
