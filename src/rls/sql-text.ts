/**
 * Quoting for generated DDL. RLS policies are schema objects, so their text cannot carry bind parameters: the
 * only values in it are the policy's own literals (written by the policy author, never by a request), quoted
 * here as standard SQL strings.
 */

/** `"name"`, with embedded double quotes doubled. NUL cannot appear in a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new RangeError('identifier contains NUL')
  return `"${name.replaceAll('"', '""')}"`
}

// PostgreSQL's reserved and type/function-name keywords: quote_ident quotes these even when lower-case.
const KEYWORDS = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate ' +
    'collation column concurrently constraint create cross current_catalog current_date current_role ' +
    'current_schema current_time current_timestamp current_user default deferrable desc distinct do else end ' +
    'except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into ' +
    'is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on ' +
    'only or order outer overlaps placing primary references returning right select session_user similar some ' +
    'symmetric system_user table tablesample then to trailing true union unique user using variadic verbose when ' +
    'where window with'
  ).split(' '),
)

/**
 * A name as SQL needs it written, like PostgreSQL's `quote_ident`: bare when it is lower-case letters, digits
 * and underscores and not a keyword, quoted otherwise. For the remedies `tessera check` prints: a mixed-case
 * role pasted bare would name another (folded) role, or fail.
 */
export function sqlIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !KEYWORDS.has(name) ? name : quoteIdent(name)
}

/** `'text'`, with embedded quotes doubled (standard_conforming_strings, on by default since 9.1). */
export function quoteLiteral(text: string): string {
  if (text.includes('\u0000')) throw new RangeError('literal contains NUL')
  return `'${text.replaceAll("'", "''")}'`
}

/** `"schema"."table"`. */
export function quoteTable(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`
}
