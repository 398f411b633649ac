/**
 * Append-only JSONL AuditStore: one line per record (audit-archive.ts has the format), for deployments without
 * a database of their own for the audit, and as the archive format of retention.
 *
 * Writes: records waiting to be written are sealed and written together with one append (O_APPEND) — concurrent
 * calls share one write and one fsync (group commit). A call resolves only after its line reached the file
 * and, with `fsync: 'always'` (default), the disk: a record the caller was told about survives a crash of the
 * machine. `fsync: 'never'` leaves flushing to the OS: it survives a crash of the process, not of the machine.
 * If a write fails, every call in it fails and the chain heads go back to before it (nothing half-chained).
 *
 * Several processes may append to the same file: each has its own chains (segment), and each batch is one
 * write() of whole lines. Rotation (`maxBytes`) renames the full file to `<path>.<time>` and starts a new one;
 * queries and verify read the rotated files too. Retention (`deleteBefore`) rewrites the files and must run
 * while no other process writes to them (a CLI run against a stopped server, or the only writer itself).
 * Reads load the files into memory: for large trails use the PostgreSQL store.
 */
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { AuditRecord, AuditRecordDraft } from './audit-record.ts'
import {
  type AuditChainOptions,
  type AuditSigningOptions,
  type AuditVerification,
  type ChainCut,
  type ChainedRecord,
  type ChainHead,
  chainKeys,
  type ChainKeys,
  SegmentChains,
  signLink,
} from './audit-chain.ts'
import { ChainVerifier, retentionPrefix } from './audit-chain-verifier.ts'
import { appendArchive, cutLine, entryLine, parseLine } from './audit-archive.ts'
import {
  auditRecordMatches,
  normalizeAuditFilter,
  normalizeAuditQuery,
  selectEntries,
} from './audit-query.ts'
import type {
  AuditFilter,
  AuditQuery,
  AuditReservation,
  AuditStore,
  RetentionOptions,
  RetentionResult,
  StagedAudit,
} from './audit-store.ts'

export interface JsonlAuditStoreOptions extends AuditSigningOptions, AuditChainOptions {
  /** The file records are appended to (created, with its directory, on the first write). */
  readonly path: string
  /** `always` (default): fdatasync before a call resolves. `never`: leave it to the OS. */
  readonly fsync?: 'always' | 'never'
  /** Rotate when the file reaches this many bytes (default: never). */
  readonly maxBytes?: number
}

interface Waiting {
  readonly draft: AuditRecordDraft
  readonly at: Date
  readonly resolve: (record: AuditRecord) => void
  readonly reject: (error: unknown) => void
}

export class JsonlAuditStore implements AuditStore {
  readonly path: string
  readonly #fsync: 'always' | 'never'
  readonly #maxBytes: number
  readonly #keys: ChainKeys
  readonly #chains: SegmentChains
  #file: FileHandle | null = null
  #size = 0
  #waiting: Waiting[] = []
  /** The write in flight (and retention), so batches never overlap. */
  #busy: Promise<void> = Promise.resolve()
  #writing = false

  constructor(options: JsonlAuditStoreOptions) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('JsonlAuditStore needs a file path: new JsonlAuditStore({ path: "audit.jsonl" })')
    }
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
    if (maxBytes !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxBytes) || maxBytes < 1024)) {
      throw new RangeError('maxBytes must be an integer of at least 1024')
    }
    this.path = options.path
    this.#fsync = options.fsync ?? 'always'
    this.#maxBytes = maxBytes
    this.#keys = chainKeys(options)
    this.#chains = new SegmentChains(this.#keys, undefined, options)
  }

  async stage(draft: AuditRecordDraft): Promise<StagedAudit> {
    return this.#staged(draft)
  }

  /** Staging here checks nothing and writes nothing (the record is appended at commit): it cannot fail. */
  reserve(): AuditReservation {
    return { stage: (draft) => this.#staged(draft) }
  }

  #staged(draft: AuditRecordDraft): StagedAudit {
    let committed: AuditRecord | undefined
    let aborted = false
    return {
      // Written at commit, not at stage: the file only ever holds records whose write committed.
      commit: async () => {
        if (aborted) throw new Error('audit record was aborted')
        committed ??= await this.append(draft)
        return committed
      },
      abort: async () => {
        aborted = committed === undefined
      },
    }
  }

  append(draft: AuditRecordDraft): Promise<AuditRecord> {
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#waiting.push({ draft, at: new Date(), resolve, reject })
      if (!this.#writing) this.#schedule()
    })
  }

  async query(filter?: AuditQuery): Promise<AuditRecord[]> {
    const query = normalizeAuditQuery(filter)
    const { entries } = await this.#load()
    return selectEntries(entries, query)
  }

  async count(filter?: AuditFilter): Promise<number> {
    const f = normalizeAuditFilter(filter)
    const { entries } = await this.#load()
    let n = 0
    for (const e of entries) if (auditRecordMatches(e.record, f)) n += 1
    return n
  }

  async verify(): Promise<AuditVerification> {
    const { entries, cuts, unreadable } = await this.#load()
    const verifier = new ChainVerifier(cuts.values(), this.#keys.publicKey)
    const all: { chain: string; seq: number; entry: ChainedRecord | null }[] = [
      ...entries.map((entry) => ({ chain: entry.chain, seq: entry.seq, entry })),
      ...unreadable.map((u) => ({ chain: u.chain, seq: u.seq, entry: null })),
    ]
    all.sort((a, b) => (a.chain === b.chain ? a.seq - b.seq : a.chain < b.chain ? -1 : 1))
    for (const item of all) {
      if (item.entry === null) verifier.addBroken(item.chain, item.seq, 'unreadable', null)
      else verifier.add(item.entry)
    }
    return verifier.finish()
  }

  async deleteBefore(before: Date | string, options: RetentionOptions = {}): Promise<RetentionResult> {
    const { from: cutoff } = normalizeAuditFilter({ from: before })
    return this.#exclusive(async () => {
      const files = await this.#files()
      const { entries, cuts, lines } = await this.#loadFiles(files)
      const deleted = retentionPrefix(entries, cutoff as string)
      if (deleted.length === 0) return { deleted: 0, archivedTo: options.archive ?? null }
      if (options.archive !== undefined) await appendArchive(options.archive, deleted)
      const gone = new Set(deleted)
      for (const e of deleted) {
        const hash = e.record.hash
        cuts.set(e.chain, {
          chain: e.chain,
          seq: e.seq,
          hash,
          signature: signLink(this.#keys, 'cut', e.chain, e.seq, hash),
        })
      }
      // Unreadable lines are kept as they are: retention must not erase evidence of tampering.
      const text =
        [...cuts.values()].map(cutLine).join('') +
        entries
          .filter((e) => !gone.has(e))
          .map(entryLine)
          .join('') +
        lines.unreadable.map((l) => `${l}\n`).join('')
      await this.#closeFile()
      const tmp = `${this.path}.retention-${process.pid}`
      await writeFile(tmp, text, { encoding: 'utf8', mode: 0o600, flush: true })
      for (const f of files) if (f !== this.path) await rm(f, { force: true })
      await rename(tmp, this.path)
      return { deleted: deleted.length, archivedTo: options.archive ?? null }
    })
  }

  /** Closes the file (a later write opens it again). */
  async close(): Promise<void> {
    await this.#exclusive(() => this.#closeFile())
  }

  #schedule(): void {
    this.#writing = true
    void this.#exclusive(async () => {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting
        this.#waiting = []
        await this.#writeBatch(batch)
      }
    }).finally(() => {
      this.#writing = false
      if (this.#waiting.length > 0) this.#schedule()
    })
  }

  /** Runs `work` after everything queued before it; batches and retention never overlap. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(work)
    this.#busy = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  async #writeBatch(batch: readonly Waiting[]): Promise<void> {
    const before = new Map<string, ChainHead | undefined>()
    const sealed: { waiting: Waiting; entry: ChainedRecord }[] = []
    let text = ''
    for (const w of batch) {
      let entry: ChainedRecord
      try {
        entry = this.#seal(w, before)
      } catch (error) {
        w.reject(error)
        continue
      }
      sealed.push({ waiting: w, entry })
      text += entryLine(entry)
    }
    if (sealed.length === 0) return
    try {
      await this.#write(Buffer.from(text, 'utf8'))
    } catch (error) {
      for (const [chain, head] of before) this.#chains.restore(chain, head)
      for (const s of sealed) s.waiting.reject(error)
      return
    }
    for (const s of sealed) s.waiting.resolve(s.entry.record)
  }

  #seal(w: Waiting, before: Map<string, ChainHead | undefined>): ChainedRecord {
    const entry = this.#chains.seal(w.draft, w.at)
    if (!before.has(entry.chain)) {
      // The head before this batch: the previous record of the chain, or nothing for its first.
      before.set(entry.chain, entry.seq === 1 ? undefined : this.#previousHead(entry))
    }
    return entry
  }

  #previousHead(entry: ChainedRecord): ChainHead {
    return { chain: entry.chain, seq: entry.seq - 1, hash: entry.record.prevHash as string }
  }

  async #write(buffer: Buffer): Promise<void> {
    const file = await this.#open()
    let offset = 0
    while (offset < buffer.length) {
      const { bytesWritten } = await file.write(buffer, offset, buffer.length - offset)
      offset += bytesWritten
    }
    if (this.#fsync === 'always') await file.datasync()
    this.#size += buffer.length
    if (this.#size >= this.#maxBytes) await this.#rotate()
  }

  async #open(): Promise<FileHandle> {
    if (this.#file !== null && this.#maxBytes !== Number.POSITIVE_INFINITY) {
      // Another process may have rotated the file under us: follow the path to the new file.
      const [onPath, mine] = await Promise.all([stat(this.path).catch(() => null), this.#file.stat()])
      if (onPath === null || onPath.ino !== mine.ino) await this.#closeFile()
    }
    if (this.#file === null) {
      await mkdir(dirname(this.path), { recursive: true })
      this.#file = await open(this.path, 'a', 0o600)
      this.#size = (await this.#file.stat()).size
    }
    return this.#file
  }

  async #rotate(): Promise<void> {
    await this.#closeFile()
    await rename(this.path, `${this.path}.${rotationSuffix()}`)
  }

  async #closeFile(): Promise<void> {
    const file = this.#file
    this.#file = null
    if (file !== null) await file.close()
  }

  /** The rotated files (oldest first) and the current one, those that exist. */
  async #files(): Promise<string[]> {
    const dir = dirname(this.path)
    const base = basename(this.path)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      return []
    }
    const rotated = names
      .filter((n) => n.startsWith(`${base}.`) && !n.includes('.retention-'))
      .sort()
      .map((n) => join(dir, n))
    return [...rotated, ...(names.includes(base) ? [this.path] : [])]
  }

  async #load(): Promise<Loaded> {
    // Wait for the writes queued so far: a read sees every record whose call has resolved.
    await this.#exclusive(async () => undefined)
    return this.#loadFiles(await this.#files())
  }

  async #loadFiles(files: readonly string[]): Promise<Loaded> {
    const entries: ChainedRecord[] = []
    const cuts = new Map<string, ChainCut>()
    const unreadable: { chain: string; seq: number }[] = []
    const lines = { unreadable: [] as string[] }
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch(() => '')
      for (const line of text.split('\n')) {
        if (line === '') continue
        const parsed = parseLine(line)
        if (parsed.kind === 'entry') entries.push(parsed.entry)
        else if (parsed.kind === 'cut') cuts.set(parsed.cut.chain, parsed.cut)
        else {
          lines.unreadable.push(line)
          unreadable.push({ chain: parsed.chain ?? '(unreadable)', seq: parsed.seq ?? 0 })
        }
      }
    }
    return { entries, cuts, unreadable, lines }
  }
}

/** Rotations made by this process, across every store in it (two stores may share one path). */
let rotations = 0

/**
 * The suffix of a rotated file: time, process id and a counter of this process's rotations. The time alone
 * repeats when two rotations fall in one millisecond, and `rename` onto an existing name replaces that file —
 * its records would be lost. The counter is zero-padded so names sort in rotation order within a millisecond.
 */
function rotationSuffix(): string {
  rotations += 1
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  return `${stamp}-${process.pid}-${String(rotations).padStart(9, '0')}`
}

interface Loaded {
  readonly entries: ChainedRecord[]
  readonly cuts: Map<string, ChainCut>
  readonly unreadable: { chain: string; seq: number }[]
  readonly lines: { unreadable: string[] }
}
