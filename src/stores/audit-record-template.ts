/**
 * The canonical text of an audit record (audit-record.ts) from a template of its members that repeat. A tool's
 * records mostly differ in a few members (id, time, request, tenant, digest, chain link, duration, counts);
 * the rest — action, outcome, model, policy version, scopes and row policies applied, fields redacted, … —
 * are the same call after call. Those are written once per tool into the text segments between the varying
 * members, so sealing a record joins 24 pieces instead of writing 26 members one by one (fewer strings to
 * build, escape-check and flatten; sealing is most of a read's own CPU).
 *
 * The result is exactly canonicalRecord's text: a template is used only when every member is present (none
 * `undefined`), before and after are null, and each repeating member equals the value the template was made
 * from (strings and numbers by ===, lists of strings item by item against a copy taken when it was made).
 * Anything else returns undefined and the caller writes the record member by member.
 */
import { canonicalJson, jsonString } from '../json/index.ts'

/** The members a template holds fixed (every other member is written per record). */
interface Repeating {
  readonly action: unknown
  readonly affectedRows: unknown
  readonly bypass: unknown
  readonly errorCode: unknown
  readonly fieldsRedacted: unknown
  readonly model: unknown
  readonly outcome: unknown
  readonly policyVersion: unknown
  readonly reason: unknown
  readonly rowPolicies: unknown
  readonly scopesInjected: unknown
  readonly tool: unknown
}

/** What of a record the text is written from: its members as sealing holds them. */
export interface TemplateRecord extends Repeating {
  readonly after: unknown
  readonly argsDigest?: unknown
  readonly before: unknown
  readonly durationMs: unknown
  readonly id: unknown
  readonly inputs: unknown
  readonly prevHash: unknown
  readonly requestId: unknown
  readonly roles: unknown
  readonly rowCount: unknown
  readonly tenantId: unknown
  readonly timestamp: unknown
  readonly traceId: unknown
  readonly userId: unknown
}

interface Template extends Repeating {
  /** `{"action":…,"affectedRows":…,"after":null,"argsDigest":` */
  readonly head: string
  /** `,"before":null,"bypass":…,"durationMs":` */
  readonly toDuration: string
  /** `,"errorCode":…,"fieldsRedacted":…,"id":` */
  readonly toId: string
  /** `,"model":…,"outcome":…,"policyVersion":…,"prevHash":` */
  readonly toPrevHash: string
  /** `,"reason":…,"requestId":` */
  readonly toRequestId: string
  /** `,"rowPolicies":…,"scopesInjected":…,"tenantId":` */
  readonly toTenantId: string
  /** `,"tool":…,"traceId":` */
  readonly toTraceId: string
}

/** canonicalJson(value) with a member's common cases first: text, null, an empty list. */
export function memberJson(value: unknown): string {
  if (typeof value === 'string') return jsonString(value)
  if (value === null) return 'null'
  if (Array.isArray(value) && value.length === 0) return '[]'
  return canonicalJson(value)
}

/** Templates by tool name; a host can name any number of tools, so the map starts over when full. */
const templates = new Map<string, Template>()
const MAX_TEMPLATES = 64

/** canonicalRecord(record) from its tool's template, or undefined when no template applies (see the header). */
export function templatedRecordText(r: TemplateRecord): string | undefined {
  if (typeof r.tool !== 'string' || r.before !== null || r.after !== null) return undefined
  if (
    r.argsDigest === undefined ||
    r.durationMs === undefined ||
    r.id === undefined ||
    r.inputs === undefined ||
    r.prevHash === undefined ||
    r.requestId === undefined ||
    r.roles === undefined ||
    r.rowCount === undefined ||
    r.tenantId === undefined ||
    r.timestamp === undefined ||
    r.traceId === undefined ||
    r.userId === undefined
  )
    return undefined
  let t = templates.get(r.tool)
  if (t === undefined || !matches(t, r)) {
    t = makeTemplate(r)
    if (t === undefined) return undefined
    if (templates.size >= MAX_TEMPLATES) templates.clear()
    templates.set(r.tool, t)
  }
  return (
    t.head +
    memberJson(r.argsDigest) +
    t.toDuration +
    memberJson(r.durationMs) +
    t.toId +
    memberJson(r.id) +
    ',"inputs":' +
    memberJson(r.inputs) +
    t.toPrevHash +
    memberJson(r.prevHash) +
    t.toRequestId +
    memberJson(r.requestId) +
    ',"roles":' +
    memberJson(r.roles) +
    ',"rowCount":' +
    memberJson(r.rowCount) +
    t.toTenantId +
    memberJson(r.tenantId) +
    ',"timestamp":' +
    memberJson(r.timestamp) +
    t.toTraceId +
    memberJson(r.traceId) +
    ',"userId":' +
    memberJson(r.userId) +
    '}'
  )
}

function matches(t: Template, r: Repeating): boolean {
  return (
    t.action === r.action &&
    t.outcome === r.outcome &&
    t.model === r.model &&
    t.errorCode === r.errorCode &&
    t.affectedRows === r.affectedRows &&
    t.bypass === r.bypass &&
    t.reason === r.reason &&
    t.policyVersion === r.policyVersion &&
    sameTexts(t.scopesInjected, r.scopesInjected) &&
    sameTexts(t.rowPolicies, r.rowPolicies) &&
    sameTexts(t.fieldsRedacted, r.fieldsRedacted)
  )
}

/** Whether `value` is a list holding exactly the strings of `kept` (a template's own copy), in order. */
function sameTexts(kept: unknown, value: unknown): boolean {
  if (!Array.isArray(kept) || !Array.isArray(value) || value.length !== kept.length) return false
  for (let i = 0; i < kept.length; i++) if (value[i] !== kept[i]) return false
  return true
}

/** A copy of a list of strings, or undefined for anything else (no template then). */
function textsCopy(value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value)) return undefined
  const out: string[] = []
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i]
    if (typeof item !== 'string') return undefined
    out.push(item)
  }
  return out
}

/** A member a template can hold: text, null or a number (anything else is written per record). */
function isScalar(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number'
}

function makeTemplate(r: Repeating): Template | undefined {
  const scopesInjected = textsCopy(r.scopesInjected)
  const rowPolicies = textsCopy(r.rowPolicies)
  const fieldsRedacted = textsCopy(r.fieldsRedacted)
  if (scopesInjected === undefined || rowPolicies === undefined || fieldsRedacted === undefined)
    return undefined
  const { action, outcome, model, errorCode, affectedRows, bypass, reason, policyVersion, tool } = r
  if (![action, outcome, model, errorCode, affectedRows, bypass, reason, policyVersion, tool].every(isScalar))
    return undefined
  const j = memberJson
  return {
    action,
    affectedRows,
    bypass,
    errorCode,
    fieldsRedacted,
    model,
    outcome,
    policyVersion,
    reason,
    rowPolicies,
    scopesInjected,
    tool,
    head: `{"action":${j(action)},"affectedRows":${j(affectedRows)},"after":null,"argsDigest":`,
    toDuration: `,"before":null,"bypass":${j(bypass)},"durationMs":`,
    toId: `,"errorCode":${j(errorCode)},"fieldsRedacted":${j(fieldsRedacted)},"id":`,
    toPrevHash: `,"model":${j(model)},"outcome":${j(outcome)},"policyVersion":${j(policyVersion)},"prevHash":`,
    toRequestId: `,"reason":${j(reason)},"requestId":`,
    toTenantId: `,"rowPolicies":${j(rowPolicies)},"scopesInjected":${j(scopesInjected)},"tenantId":`,
    toTraceId: `,"tool":${j(tool)},"traceId":`,
  }
}
