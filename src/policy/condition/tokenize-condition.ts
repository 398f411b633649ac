/**
 * Lexer of the row-policy condition language. Deliberately small and strict: ASCII identifiers, single-quoted
 * strings, plain decimal numbers, the six comparison operators, parentheses and commas. Anything else — double
 * quotes, `;`, `--`, unicode look-alikes, NUL — is an error with its position, never skipped.
 */
import { TesseraError } from '../../errors/index.ts'
import { parsePrincipalPath } from '../principal-path.ts'
import type { CompareOp, PrincipalPath } from './ast.ts'

export const KEYWORDS = ['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false'] as const
export type Keyword = (typeof KEYWORDS)[number]

export type Token =
  | { readonly kind: 'ident'; readonly pos: number; readonly name: string }
  | { readonly kind: 'keyword'; readonly pos: number; readonly keyword: Keyword }
  | { readonly kind: 'string'; readonly pos: number; readonly value: string }
  | { readonly kind: 'number'; readonly pos: number; readonly value: number; readonly text: string }
  | { readonly kind: 'principal'; readonly pos: number; readonly path: PrincipalPath }
  | { readonly kind: 'op'; readonly pos: number; readonly op: CompareOp; readonly text: string }
  | { readonly kind: 'lparen' | 'rparen' | 'comma' | 'eof'; readonly pos: number }

export const MAX_IDENTIFIER_LENGTH = 63
/** Beyond 15 significant digits a decimal no longer survives the trip through a JS number unchanged. */
const MAX_SIGNIFICANT_DIGITS = 15
const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS)

/** Throws TesseraError('POLICY_INVALID') with `details.position`; the parser turns it into a result. */
export function syntaxError(message: string, position: number): TesseraError {
  return new TesseraError('POLICY_INVALID', message, { details: { position } })
}

export function tokenizeCondition(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
    } else if (c === '(') {
      tokens.push({ kind: 'lparen', pos: i++ })
    } else if (c === ')') {
      tokens.push({ kind: 'rparen', pos: i++ })
    } else if (c === ',') {
      tokens.push({ kind: 'comma', pos: i++ })
    } else if (c === "'") {
      i = readString(text, i, tokens)
    } else if (isDigit(c) || (c === '-' && isDigit(text[i + 1]))) {
      i = readNumber(text, i, tokens)
    } else if (isIdentStart(c)) {
      i = readWord(text, i, tokens)
    } else if (c === '=' || c === '<' || c === '>' || (c === '!' && text[i + 1] === '=')) {
      i = readOperator(text, i, tokens)
    } else {
      const hint = c === '"' ? '; strings use single quotes' : ''
      throw syntaxError(`Unexpected character ${describeChar(text, i)}${hint}`, i)
    }
  }
  tokens.push({ kind: 'eof', pos: text.length })
  return tokens
}

function readString(text: string, start: number, tokens: Token[]): number {
  let value = ''
  let i = start + 1
  for (;;) {
    const end = text.indexOf("'", i)
    if (end < 0) throw syntaxError('Unterminated string', start)
    value += text.slice(i, end)
    if (text[end + 1] === "'") {
      value += "'"
      i = end + 2
    } else {
      tokens.push({ kind: 'string', pos: start, value })
      return end + 1
    }
  }
}

function readNumber(text: string, start: number, tokens: Token[]): number {
  let i = start + (text[start] === '-' ? 1 : 0)
  while (isDigit(text[i])) i++
  if (text[i] === '.') {
    i++
    if (!isDigit(text[i])) throw syntaxError('Invalid number: digits must follow the decimal point', start)
    while (isDigit(text[i])) i++
  }
  const next = text[i]
  if (next !== undefined && (isIdentPart(next) || next === '.')) {
    throw syntaxError(`Invalid number '${text.slice(start, i + 1)}'`, start)
  }
  const numberText = text.slice(start, i)
  const digits = numberText.replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '')
  if (digits.length > MAX_SIGNIFICANT_DIGITS) {
    throw syntaxError(
      `Number ${numberText} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits`,
      start,
    )
  }
  const value = Number(numberText)
  if (!Number.isFinite(value)) throw syntaxError(`Number ${numberText} is out of range`, start)
  // `-0` is stored as 0: the AST has one zero, so printing and re-parsing is stable.
  tokens.push({ kind: 'number', pos: start, value: value === 0 ? 0 : value, text: numberText })
  return i
}

function readWord(text: string, start: number, tokens: Token[]): number {
  let i = start + 1
  while (i < text.length && isIdentPart(text[i] as string)) i++
  const word = text.slice(start, i)
  if (word.length > MAX_IDENTIFIER_LENGTH) {
    throw syntaxError(
      `Name '${word.slice(0, 20)}...' is longer than ${MAX_IDENTIFIER_LENGTH} characters`,
      start,
    )
  }
  const lower = word.toLowerCase()
  if (lower === 'principal' && text[i] === '.') return readPrincipalPath(text, start, i, tokens)
  if (KEYWORD_SET.has(lower)) tokens.push({ kind: 'keyword', pos: start, keyword: lower as Keyword })
  else tokens.push({ kind: 'ident', pos: start, name: word })
  return i
}

/** `principal` (any case, like a keyword) followed by `.name` parts with no spaces in between. */
function readPrincipalPath(text: string, start: number, afterPrincipal: number, tokens: Token[]): number {
  let i = afterPrincipal
  while (text[i] === '.') {
    const partStart = i + 1
    if (!isIdentStart(text[partStart])) {
      throw syntaxError(`Expected a name after '.' in the principal path`, partStart)
    }
    i = partStart + 1
    while (i < text.length && isIdentPart(text[i] as string)) i++
  }
  const parsed = parsePrincipalPath(`principal${text.slice(afterPrincipal, i)}`)
  if (!parsed.ok) throw syntaxError(capitalise(parsed.message), start)
  tokens.push({ kind: 'principal', pos: start, path: parsed.path })
  return i
}

function readOperator(text: string, start: number, tokens: Token[]): number {
  const two = text.slice(start, start + 2)
  if (two === '<=' || two === '>=' || two === '!=') {
    tokens.push({ kind: 'op', pos: start, op: two, text: two })
    return start + 2
  }
  if (two === '<>') {
    tokens.push({ kind: 'op', pos: start, op: '!=', text: two })
    return start + 2
  }
  const one = text[start] as '=' | '<' | '>'
  tokens.push({ kind: 'op', pos: start, op: one, text: one })
  return start + 1
}

/** Printable ASCII is quoted; anything else is named by code point so invisible characters show up. */
export function describeChar(text: string, index: number): string {
  const code = text.codePointAt(index) ?? 0
  if (code >= 0x21 && code <= 0x7e) return `'${String.fromCodePoint(code)}'`
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9'
}

function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_')
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c)
}

function capitalise(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1)
}
