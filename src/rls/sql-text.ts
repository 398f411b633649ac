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

/** `'text'`, with embedded quotes doubled (standard_conforming_strings, on by default since 9.1). */
export function quoteLiteral(text: string): string {
  if (text.includes('\u0000')) throw new RangeError('literal contains NUL')
  return `'${text.replaceAll("'", "''")}'`
}

/** `"schema"."table"`. */
export function quoteTable(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`
}
