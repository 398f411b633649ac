/**
 * The first question each walk over audit data asks of a value — the sanitiser's "stored as is" check
 * (audit-sanitize.ts) and the deferrability check (deferrable-draft.ts): a JSON scalar, `undefined`, an object
 * (or array) to walk into, or something that is not data at all. One answer, so the walks cannot disagree on
 * what a scalar is.
 */
export type DataKind = 'scalar' | 'undefined' | 'object' | 'other'

/** `scalar`: a string, number (finite or not), boolean or null; `other`: a bigint, function or symbol. */
export function dataKind(value: unknown): DataKind {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return 'scalar'
    case 'undefined':
      return 'undefined'
    case 'object':
      return value === null ? 'scalar' : 'object'
    default:
      return 'other'
  }
}
