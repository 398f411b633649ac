/**
 * The one test of whether a key names a secret, whatever the policy says: used for tool-call inputs, the
 * before/after images of writes (a jsonb column's nested keys included) and Tessera's own log lines, so the
 * three never disagree (docs/audit.md, "Sanitisation").
 *
 * A key is read as words — split at separators (`_`, `-`, `.`, spaces…) and at camel-case humps, lower-cased —
 * so `apiKey`, `api-key`, `API_KEY` and `X-Api-Key` are one name. Long names count anywhere in the key with its
 * separators dropped (`client_secret`, `accessToken`, `smtp_password2`); short ones only as a whole word, or they
 * would catch ordinary names (`pin` in `shipping`, `ssn` in `lessons`).
 */

/** Secret wherever they appear in the key, separators dropped. */
export const SECRET_KEY_FRAGMENTS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret',
  'token',
  'apikey',
  'credential',
  'privatekey',
  'authorization',
  'authorisation',
  'cookie',
  'cardnumber',
  'creditcard',
  'securitycode',
  'pincode',
])

/** Secret as a whole word of the key only. */
export const SECRET_KEY_WORDS: readonly string[] = Object.freeze([
  'pin',
  'pwd',
  'ssn',
  'iban',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'otp',
])

const WORDS: ReadonlySet<string> = new Set(SECRET_KEY_WORDS)

/** Two words that are a secret side by side (`card_no`, `cardNum`): too short to count as fragments. */
const SECRET_PAIRS: ReadonlySet<string> = new Set(['card no', 'card num', 'card nr'])

/** Keys recur (`model`, `where`, column names): answers are remembered, a bounded number of them. */
const known = new Map<string, boolean>()
const MAX_KNOWN = 2_048

/** Whether `key` names a secret (see the file header). */
export function isSecretKey(key: string): boolean {
  let secret = known.get(key)
  if (secret === undefined) {
    secret = testKey(key)
    if (known.size >= MAX_KNOWN) known.clear()
    known.set(key, secret)
  }
  return secret
}

function testKey(key: string): boolean {
  const words = keyWords(key)
  const compact = words.join('')
  for (const fragment of SECRET_KEY_FRAGMENTS) if (compact.includes(fragment)) return true
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    if (WORDS.has(word)) return true
    const next = words[i + 1]
    if (next !== undefined && SECRET_PAIRS.has(`${word} ${next}`)) return true
  }
  return false
}

/** `X-Api-Key` → [x, api, key]; `APIKey` → [api, key]; `cvv2` → [cvv2]; `pinCode` → [pin, code]. */
function keyWords(key: string): string[] {
  return key
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
}
