/**
 * Column-name globs for the PolicyBuilder: `*` matches any run of characters, everything else is literal, and
 * matching is case-insensitive over the whole name (`*password*` matches `password_hash` and `PasswordOld`).
 */
export function fieldGlobMatcher(glob: string): (column: string) => boolean {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  const pattern = new RegExp(`^${source}$`, 'i')
  return (column) => pattern.test(column)
}

export function isFieldGlob(text: string): boolean {
  return text.includes('*')
}
