/**
 * What was appended to a JSONL audit file since the last read, for `tessera audit tail --follow`: a poll costs
 * the bytes written since the previous one, not the size of the trail (a query loads every file). The file is
 * held open, so the rest of a file that was rotated away (renamed) is still read; only whole lines are taken,
 * so a write in progress is read once its newline is there.
 *
 * When the path names another file than the one held (rotation, retention's rewrite, a file that appeared) or
 * the file shrank (truncation), `reset` says the reader should look at the whole trail once: files rotated
 * between two polls are never seen here. The tail then holds the new file from its current end, taken before
 * the caller's re-read, so a record appended meanwhile is seen twice at most (the caller drops repeated ids),
 * never missed. A file truncated in place and then grown past the old end between two polls is not noticed:
 * the lines cut in two are skipped as unreadable (rotation and retention replace the file instead).
 */
import { type FileHandle, open, stat } from 'node:fs/promises'
import type { AuditRecord } from './audit-record.ts'
import { parseLine } from './audit-archive.ts'

/** Bytes read per read(2): bounds memory when much was appended between two polls. */
const CHUNK_BYTES = 1 << 20
const NEWLINE = 0x0a

export interface TailRead {
  /** Records in the bytes appended since the last read, in file order. */
  readonly records: AuditRecord[]
  /** The file was replaced or truncated: read the whole trail once to catch what was not read here. */
  readonly reset: boolean
}

export class JsonlTail {
  readonly path: string
  #file: FileHandle | null = null
  #ino = -1
  #offset = 0
  /** Bytes after the last newline read: the start of a line still being written. */
  #partial: Buffer = Buffer.alloc(0)

  private constructor(path: string) {
    this.path = path
  }

  /** A tail positioned at the end of the file as it is now; a file that does not exist yet is a reset once it does. */
  static async open(path: string): Promise<JsonlTail> {
    const tail = new JsonlTail(path)
    await tail.#hold()
    return tail
  }

  async read(): Promise<TailRead> {
    const records: AuditRecord[] = []
    if (this.#file !== null) {
      const { size } = await this.#file.stat()
      if (size < this.#offset) {
        await this.#hold()
        return { records, reset: true }
      }
      await this.#readTo(size, records)
    }
    const onPath = await stat(this.path).catch(() => null)
    if (onPath === null) return { records, reset: false } // rotated away, the new file not created yet
    if (this.#file !== null && onPath.ino === this.#ino) return { records, reset: false }
    await this.#hold()
    return { records, reset: true }
  }

  async close(): Promise<void> {
    const file = this.#file
    this.#file = null
    await file?.close()
  }

  /** Holds the file now at the path, from its current end. */
  async #hold(): Promise<void> {
    await this.close()
    this.#partial = Buffer.alloc(0)
    try {
      this.#file = await open(this.path, 'r')
    } catch {
      this.#offset = 0
      this.#ino = -1
      return
    }
    const { size, ino } = await this.#file.stat()
    this.#offset = size
    this.#ino = ino
  }

  async #readTo(size: number, records: AuditRecord[]): Promise<void> {
    const file = this.#file
    if (file === null) return
    while (this.#offset < size) {
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, size - this.#offset))
      const { bytesRead } = await file.read(buffer, 0, buffer.length, this.#offset)
      if (bytesRead === 0) return
      this.#offset += bytesRead
      const bytes = Buffer.concat([this.#partial, buffer.subarray(0, bytesRead)])
      const end = bytes.lastIndexOf(NEWLINE)
      this.#partial = end === -1 ? bytes : bytes.subarray(end + 1)
      if (end === -1) continue
      // Splitting UTF-8 at a newline byte never cuts a character.
      for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
        if (line === '') continue
        const parsed = parseLine(line)
        if (parsed.kind === 'entry') records.push(parsed.entry.record)
      }
    }
  }
}
