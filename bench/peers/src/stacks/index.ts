// Registry of benchmarked stacks, in report order. `pg` must stay first: it is the reference
// for correctness cross-checks and the denominator of every ratio.
//
// To add a stack (e.g. our policy-enforcing library), create src/stacks/<name>.ts exporting a
// StackDef (see src/types.ts and README.md) and append it here.
import type { StackDef } from '../types.ts';
import { pgRaw, pgPrepared } from './pg.ts';
import { kysely028, kysely029 } from './kysely.ts';
import { pgRls, pgRls1rt } from './pg-rls.ts';
import { zenstackPolicy, zenstackNoPolicy } from './zenstack.ts';
import { tessera } from './tessera.ts';

export const STACKS: StackDef[] = [
  pgRaw,
  pgPrepared,
  kysely028,
  kysely029,
  pgRls,
  pgRls1rt,
  zenstackNoPolicy,
  zenstackPolicy,
  // Tessera is loaded at run time from this repository (or the checkout named by TESSERA_PKG, see tessera.ts).
  tessera,
];
