/**
 * json and jsonb values read without silent rounding. node-postgres parses them with JSON.parse, which turns
 * `12345678901234567890` into 12345678901234567000: an agent that reads a document holding a large id and
 * writes it back would corrupt it, and nothing would say so. Here a JSON number whose value a double cannot
 * hold exactly arrives as its decimal text instead — the same rule as int8 and numeric columns, which pg
 * returns as strings (docs/threats.md fact 9, docs/decisions.md "json numbers beyond a double").
 *
 * The parsers are handed to node-postgres per statement (tessera-dialect.ts, session-batch.ts), never set on
 * `pg.types` or on a client: a host's own queries on its own pool keep node-postgres' parsing.
 */
import pg from 'pg'

type TypeParser = (raw: string) => unknown

/** What node-postgres asks a statement's type source for (the client's `types`, or pg.types). */
export interface TypeSource {
  getTypeParser(oid: number, format?: string): TypeParser
}

const JSON_OID = 114
const JSONB_OID = 3802
const JSON_ARRAY_OID = 199
const JSONB_ARRAY_OID = 3807
const TEXT_ARRAY_OID = 1009

/**
 * A number token that may not survive a double: 16 or more digits (with any decimal points between them), or
 * an exponent of three digits (overflow, underflow). Text without one parses with JSON.parse directly: a
 * double holds every decimal of 15 significant digits within its range.
 */
const MAYBE_INEXACT = /\d[\d.]{15}|[eE][+-]?\d{3}/

/** JSON text → value, numbers a double cannot hold exactly kept as their JSON text. */
export function parseJsonExact(text: string): unknown {
  if (!MAYBE_INEXACT.test(text)) return JSON.parse(text)
  return JSON.parse(quoteInexactNumbers(text))
}

/** Rewrites every number token outside a string that a double would change into a JSON string of its text. */
function quoteInexactNumbers(text: string): string {
  let out = ''
  let copiedTo = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      i = endOfString(text, i)
      continue
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const end = endOfNumber(text, i)
      const token = text.slice(i, end)
      if (!isExactDouble(token)) {
        out += text.slice(copiedTo, i) + '"' + token + '"'
        copiedTo = end
      }
      i = end
      continue
    }
    i++
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo)
}

/** Index just past the string literal opening at `start` (PostgreSQL only emits valid JSON). */
function endOfString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 0x5c /* \ */) i += 2
    else if (c === 0x22) return i + 1
    else i++
  }
  return i
}

function endOfNumber(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text.charCodeAt(i)
    // digits, '.', 'e', 'E', '+', '-': the characters of a JSON number token
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) i++
    else break
  }
  return i
}

/**
 * True when the double nearest to `token` denotes the same decimal value, i.e. its shortest round-trip text
 * (String(number)) and the token normalise to the same digits and exponent.
 */
export function isExactDouble(token: string): boolean {
  const value = Number(token)
  if (!Number.isFinite(value)) return false
  const a = normaliseDecimal(token)
  const b = normaliseDecimal(String(value))
  return (
    a.digits === b.digits && (a.digits === '' || (a.exponent === b.exponent && a.negative === b.negative))
  )
}

/** A decimal as sign, significant digits (no leading or trailing zeros) and the power of ten of the last. */
function normaliseDecimal(text: string): { negative: boolean; digits: string; exponent: number } {
  const negative = text.startsWith('-')
  const body = negative ? text.slice(1) : text
  const e = body.search(/[eE]/)
  const mantissa = e === -1 ? body : body.slice(0, e)
  const power = e === -1 ? 0 : Number(body.slice(e + 1))
  const dot = mantissa.indexOf('.')
  const whole = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  const fractionLength = dot === -1 ? 0 : mantissa.length - dot - 1
  const leading = whole.replace(/^0+/, '')
  const digits = leading.replace(/0+$/, '')
  return { negative, digits, exponent: power - fractionLength + (leading.length - digits.length) }
}

function parseJsonArrayExact(text: string, textArray: TypeParser): unknown {
  return mapLeaves(textArray(text), (element) =>
    element === null ? null : parseJsonExact(element as string),
  )
}

function mapLeaves(value: unknown, leaf: (v: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map((v) => mapLeaves(v, leaf)) : leaf(value)
}

const wrapped = new WeakMap<TypeSource, TypeSource>()

/**
 * `base` with json, jsonb and their arrays parsed by parseJsonExact; every other type as `base` has it (a
 * host's custom parsers for other types are kept). One wrapper per base.
 */
export function exactJsonTypes(base: TypeSource | undefined): TypeSource {
  const source = base ?? (pg.types as unknown as TypeSource)
  let types = wrapped.get(source)
  if (types === undefined) {
    const textArray = source.getTypeParser(TEXT_ARRAY_OID, 'text')
    const jsonArray: TypeParser = (raw) => parseJsonArrayExact(raw, textArray)
    types = {
      getTypeParser(oid: number, format?: string): TypeParser {
        if (format === undefined || format === 'text') {
          if (oid === JSON_OID || oid === JSONB_OID) return parseJsonExact
          if (oid === JSON_ARRAY_OID || oid === JSONB_ARRAY_OID) return jsonArray
        }
        return source.getTypeParser(oid, format)
      },
    }
    wrapped.set(source, types)
  }
  return types
}
