// Stack: Tessera (the policy-enforcing library under test), app-mode enforcement, over Kysely 0.28 + pg.
//
// Tessera is not an npm dependency of this harness (its lockfile stays the peers' own): it is loaded at run
// time from this repository (two folders up, dependencies installed with `npm ci` there), or from another
// checkout named by TESSERA_PKG (a path, relative to the current directory or absolute) to compare builds:
//
//   TESSERA_PKG=/path/to/other/checkout npm run bench -- --stacks=pg,tessera
//
// The module is imported lazily in create(), so the other stacks run without it. Tessera's TypeScript
// sources run through the same tsx loader as this harness (`node --import tsx`).
//
// Per call, as a request handler would: a fresh RunContext `{ principal: { tenantId } }` from the
// workload's tenant, then toolset.get / toolset.query / toolset.aggregate. The policy scopes
// `tenant_id <- principal.tenantId` and allows the six columns the other stacks return. Tessera's
// NOT_FOUND (which is also what another tenant's id gives) maps to "nothing" (null).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { APP_ROLE } from '../config.ts';
import type { CallInput, StackDef } from '../types.ts';
import { makePool } from './pg.ts';

/** Key for cursor sealing and field hashing: the PROD profile requires one (>= 16 characters). */
const SECRET = 'peer-bench-tessera-cursor-secret-0123456789';
/**
 * Equal to the harness pools' `statement_timeout` (10 s). The policy's budget uses the same value and the
 * dialect establishes it as the session default, so app-mode reads take Tessera's one-statement path
 * (no transaction to set a per-call timeout).
 */
const STATEMENT_TIMEOUT_MS = 10_000;

// The few parts of Tessera's public API used here (loaded dynamically, so typed by hand).
interface Ctx { principal: { tenantId: string } }
interface Toolset {
  get(ctx: Ctx, args: unknown): Promise<{ row: Record<string, unknown> }>;
  query(ctx: Ctx, args: unknown): Promise<{ rows: Record<string, unknown>[]; nextCursor: string | null; hasMore: boolean }>;
  aggregate(ctx: Ctx, args: unknown): Promise<{ value: unknown } | { groups: { key: Record<string, unknown>; value: unknown }[] }>;
  create(ctx: Ctx, args: unknown): Promise<{ row: Record<string, unknown> }>;
  update(ctx: Ctx, args: unknown): Promise<{ row: Record<string, unknown> }>;
}
interface TesseraModule {
  createToolset(o: { db: unknown; policy: unknown; secret?: string; enforcement?: 'app' }): Promise<Toolset>;
  definePolicy(input: unknown): unknown;
  createTesseraDialect(o: { pool: unknown; statementTimeoutMs?: number }): unknown;
  isTesseraError(e: unknown): e is Error & { code: string };
}
interface KyselyModule { Kysely: new (config: { dialect: unknown }) => { destroy(): Promise<void> } }

let loaded: Promise<{ tessera: TesseraModule; kysely: KyselyModule; version: string }> | undefined;

/** Tessera's entry point, and the Kysely copy Tessera itself imports (its ESM build, the same module instance). */
function loadTessera() {
  loaded ??= (async () => {
    const given = process.env.TESSERA_PKG;
    const dir = given ? resolve(given) : fileURLToPath(new URL('../../../../', import.meta.url));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    // `exports['.']` is a path (sources) or a conditions object (a built package): take its import target.
    const raw = pkg.exports?.['.'];
    const entry: unknown = typeof raw === 'string' ? raw : (raw?.import?.default ?? raw?.import ?? raw?.default);
    if (!['tessera', 'tessera-db'].includes(pkg.name) || typeof entry !== 'string') throw new Error(`tessera stack: ${dir} is not a Tessera checkout`);
    // `kysely/package.json` is not exported: resolve the package's CJS main, walk up to its root, take the ESM entry.
    let kdir = dirname(createRequire(join(dir, 'package.json')).resolve('kysely'));
    while (!existsSync(join(kdir, 'package.json')) || JSON.parse(readFileSync(join(kdir, 'package.json'), 'utf8')).name !== 'kysely') {
      const up = dirname(kdir);
      if (up === kdir) throw new Error('tessera stack: cannot find the kysely package Tessera depends on');
      kdir = up;
    }
    const kpkg = JSON.parse(readFileSync(join(kdir, 'package.json'), 'utf8'));
    const [tessera, kysely] = await Promise.all([
      import(pathToFileURL(join(dir, entry)).href) as Promise<TesseraModule>,
      import(pathToFileURL(join(kdir, kpkg.exports['.'].import)).href) as Promise<KyselyModule>,
    ]);
    return { tessera, kysely, version: `${pkg.version} (kysely ${kpkg.version})` };
  })();
  return loaded;
}

const POLICY = {
  // profile defaults to PROD: unlisted fields denied, PROD budget (maxRows 100, ...), secret required.
  models: {
    Order: {
      table: 'orders',
      fields: { id: 'allow', tenant_id: 'allow', customer_id: 'allow', status: 'allow', total: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      // The include workload: the order's customer (composite key (tenant_id, id); the join carries the tenant).
      relations: { customer: { model: 'Customer' } },
      aggregations: { groupBy: ['status'] },
      budget: { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
    },
    Customer: {
      table: 'customers',
      fields: { tenant_id: 'allow', id: 'allow', name: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      budget: { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
    },
    // The write workloads: the tenant column is set by the server, the order must be one the caller can see.
    Note: {
      table: 'notes',
      fields: { id: 'allow', tenant_id: 'allow', order_id: 'allow', body: 'allow', created_at: 'allow' },
      scoping: { tenant_id: 'principal.tenantId' },
      relations: { order: { model: 'Order' } },
      write: {
        create: 'allow',
        update: 'allow',
        autoSet: { tenant_id: 'principal.tenantId' },
        immutableFields: ['tenant_id', 'order_id'],
      },
      budget: { statementTimeoutMs: STATEMENT_TIMEOUT_MS },
    },
  },
};

export const tessera: StackDef = {
  name: 'tessera',
  describe:
    "Tessera toolset (app mode, PROD profile) over Kysely 0.28 + Tessera dialect on the pool: " +
    "get / query(where status, orderBy created_at desc, limit 20) / aggregate(count, groupBy status) / " +
    "get include customer / create Note / update Note, principal {tenantId} per call",
  roundTrips: 1,
  async create(opts) {
    const { tessera: t, kysely } = await loadTessera();
    const pool = makePool(APP_ROLE, opts);
    const db = new kysely.Kysely({
      dialect: t.createTesseraDialect({ pool, statementTimeoutMs: STATEMENT_TIMEOUT_MS }),
    });
    let toolset: Toolset;
    try {
      toolset = await t.createToolset({ db, policy: t.definePolicy(POLICY), secret: SECRET, enforcement: 'app' });
    } catch (e) {
      await db.destroy();
      throw e;
    }
    const ctx = (i: CallInput): Ctx => ({ principal: { tenantId: i.tenant } });
    return {
      async getById(i: CallInput) {
        try {
          return (await toolset.get(ctx(i), { model: 'Order', id: i.id })).row;
        } catch (e) {
          // A missing row and another tenant's row are the same NOT_FOUND: "nothing" for the harness.
          if (t.isTesseraError(e) && e.code === 'NOT_FOUND') return null;
          throw e;
        }
      },
      async listRecent(i: CallInput) {
        const { rows } = await toolset.query(ctx(i), {
          model: 'Order',
          where: { field: 'status', op: 'eq', value: i.status },
          orderBy: [{ field: 'created_at', direction: 'desc' }],
          limit: 20,
        });
        return rows;
      },
      async countByStatus(i: CallInput) {
        const r = await toolset.aggregate(ctx(i), { model: 'Order', op: 'count', groupBy: ['status'] });
        if (!('groups' in r)) throw new Error('tessera: aggregate with groupBy returned no groups');
        return r.groups.map((g) => ({ status: g.key.status, count: g.value }));
      },
      async getWithCustomer(i: CallInput) {
        try {
          return (await toolset.get(ctx(i), { model: 'Order', id: i.id, include: { customer: true } })).row;
        } catch (e) {
          if (t.isTesseraError(e) && e.code === 'NOT_FOUND') return null;
          throw e;
        }
      },
      async createNote(i: CallInput) {
        return (await toolset.create(ctx(i), { model: 'Note', data: { order_id: i.id, body: `note ${i.status}` } })).row;
      },
      async updateNote(i: CallInput) {
        try {
          return (await toolset.update(ctx(i), { model: 'Note', id: i.id, data: { body: `upd ${i.status}` } })).row;
        } catch (e) {
          // Another tenant's note is NOT_FOUND, like a missing one: nothing changed.
          if (t.isTesseraError(e) && e.code === 'NOT_FOUND') return null;
          throw e;
        }
      },
      close: () => db.destroy(), // ends the pool
    };
  },
};
