/**
 * The capture log (docs/http.md, "Capture log"): what `sextant serve` has acknowledged and not yet
 * loaded into the store. A capture request's good events are appended as one record to the active
 * segment file and the request is answered once the record is on disk; the loader
 * (capture/loader.ts) moves closed segments into the store and removes them.
 *
 * - **Segments**: `<dir>/<seq, 12 digits>.seg`, appended to by this process only. A segment is
 *   closed when it passes `segmentBytes` or when the loader asks for what has arrived; a new one is
 *   created, and the folder fsynced, before the first record written to it is acknowledged.
 * - **Records**: a 12-byte header — magic `SXC1`, the payload's length (u32 LE), its CRC-32 (u32
 *   LE) — then the payload: the capture source (`capture:/batch/`) and `\n`, then the events as
 *   JSON Lines. A record cut short by a kill (a torn write: header or payload incomplete, or a
 *   checksum that does not match) ends what is read of its segment; the records before it are
 *   read in full.
 * - **Group commit**: appends that arrive while a write and its `fdatasync` run are written
 *   together by the next one, so one fsync covers every request that arrived meanwhile.
 * - **Replay**: on open, every segment found is a closed segment (loaded next, oldest first); a
 *   new active segment is started after them.
 * - **Size**: `unloadedBytes` is every segment not yet removed; the server answers 503 past its
 *   configured cap (back-pressure), so the log, like the memory it takes, is bounded.
 */
import { closeSync, fsyncSync, openSync, readdirSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { faultPoint, faultsArmed } from '../../store/fault.js';

const MAGIC = 0x31435853; // 'SXC1' read as u32 LE
const HEADER_BYTES = 12;
/**
 * A segment is closed once it passes this size (the loader's largest batch): more than what
 * arrives during the loader's longest pause and load at 30,000 SDK events/s (~10 MB/s), so that
 * one import takes it whole.
 */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface Segment {
  seq: number;
  file: string;
  bytes: number;
}

export interface SegmentRecord {
  source: string;
  /** The events, as JSON Lines (each line ends with `\n`). */
  lines: Buffer;
}

export interface ReadSegment {
  records: SegmentRecord[];
  /** Bytes of whole, checked records. */
  goodBytes: number;
  /** Bytes after them that are not a whole record (a torn write), 0 when none. */
  tornBytes: number;
}

/** The most bytes a record of `source` and `lines` can take (UTF-8: at most 3 bytes a UTF-16 unit). */
function maxRecordBytes(source: string, lines: Buffer | string): number {
  return (
    HEADER_BYTES + 3 * (source.length + 1) + (typeof lines === 'string' ? 3 * lines.length : lines.length)
  );
}

/**
 * Writes one record (header and payload) into `out` at `at`, which has room for
 * `maxRecordBytes`; returns its length. The lines may be text: encoded straight into the record.
 */
function writeRecord(out: Buffer, at: number, source: string, lines: Buffer | string): number {
  let end = at + HEADER_BYTES;
  end += out.write(source, end, 'utf8');
  out[end++] = 0x0a;
  end += typeof lines === 'string' ? out.write(lines, end, 'utf8') : lines.copy(out, end);
  const payload = out.subarray(at + HEADER_BYTES, end);
  out.writeUInt32LE(MAGIC, at);
  out.writeUInt32LE(payload.length, at + 4);
  out.writeUInt32LE(crc32(payload), at + 8);
  return end - at;
}

/** One record's bytes: header and payload. */
export function encodeRecord(source: string, lines: Buffer | string): Buffer {
  const out = Buffer.allocUnsafe(maxRecordBytes(source, lines));
  return out.subarray(0, writeRecord(out, 0, source, lines));
}

/** The whole records of a segment's bytes, up to the first one that is torn. */
export function decodeSegment(bytes: Buffer): ReadSegment {
  const records: SegmentRecord[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= bytes.length) {
    if (bytes.readUInt32LE(at) !== MAGIC) break;
    const len = bytes.readUInt32LE(at + 4);
    const end = at + HEADER_BYTES + len;
    if (end > bytes.length) break;
    const payload = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32(payload) !== bytes.readUInt32LE(at + 8)) break;
    const nl = payload.indexOf(0x0a);
    if (nl < 0) break;
    records.push({ source: payload.subarray(0, nl).toString('utf8'), lines: payload.subarray(nl + 1) });
    at = end;
  }
  return { records, goodBytes: at, tornBytes: bytes.length - at };
}

export async function readSegment(file: string): Promise<ReadSegment> {
  return decodeSegment(await readFile(file));
}

interface Pending {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The group buffer's size to start with, and the largest one kept for the next group. */
const GROUP_BYTES = 1024 * 1024;
const MAX_KEPT_GROUP_BYTES = 8 * 1024 * 1024;

const segmentName = (seq: number): string => `${String(seq).padStart(12, '0')}.seg`;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class CaptureLog {
  readonly dir: string;
  readonly segmentBytes: number;
  readonly #closed: Segment[] = [];
  #active!: Segment;
  #fh!: FileHandle;
  /** Appends waiting for the next group commit; their records are in `#group` (`#groupLen` bytes). */
  #pending: Pending[] = [];
  #group: Buffer = Buffer.allocUnsafe(GROUP_BYTES);
  #groupLen = 0;
  /** The buffer of the group written last, reused for a later group (no allocation per request). */
  #spare: Buffer | undefined;
  #writing: Promise<void> | undefined;
  #rotateWanted = false;
  #closing = false;
  /** Set when a write failed part way: the active segment's tail may be torn, append no more to it. */
  #broken = false;
  readonly #waiters = new Set<() => void>();
  /** Group commits (one fdatasync each) and records they wrote, since the open. */
  readonly stats = { commits: 0, records: 0 };

  private constructor(dir: string, segmentBytes: number) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
  }

  /** Opens the log in `dir` (created if needed): the segments found are closed, to be loaded. */
  static async open(dir: string, opts: { segmentBytes?: number } = {}): Promise<CaptureLog> {
    await mkdir(dir, { recursive: true });
    const log = new CaptureLog(dir, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    const found = readdirSync(dir)
      .filter((f) => /^\d{12}\.seg$/.test(f))
      .sort()
      .map((f) => ({ seq: Number(f.slice(0, 12)), file: join(dir, f), bytes: statSync(join(dir, f)).size }));
    // An empty segment holds nothing acknowledged (one is created before its first write).
    for (const s of found) {
      if (s.bytes === 0) await rm(s.file, { force: true });
      else log.#closed.push(s);
    }
    await log.#startSegment((found.at(-1)?.seq ?? 0) + 1);
    return log;
  }

  async #startSegment(seq: number): Promise<void> {
    const file = join(this.dir, segmentName(seq));
    this.#fh = await open(file, 'wx');
    // The new file's name must survive a crash before any record in it is acknowledged.
    fsyncDir(this.dir);
    this.#active = { seq, file, bytes: 0 };
    this.#broken = false;
  }

  /** Bytes acknowledged (or being written) and not yet loaded and removed. */
  unloadedBytes(): number {
    let n = this.#active.bytes;
    for (const s of this.#closed) n += s.bytes;
    return n + this.#groupLen;
  }

  /** The closed segments, oldest first: what the loader loads. */
  closedSegments(): readonly Segment[] {
    return this.#closed;
  }

  /** The active segment's sequence number: every segment up to it holds what was appended so far. */
  get activeSeq(): number {
    return this.#active.seq;
  }

  /** Whether the active segment holds anything. */
  get activeBytes(): number {
    return this.#active.bytes;
  }

  /**
   * Appends one record (a request's events, as JSON Lines) and resolves once it is on disk
   * (written and fdatasync-ed), together with every record that arrived meanwhile.
   */
  append(source: string, lines: Buffer | string): Promise<void> {
    if (this.#closing) return Promise.reject(new Error('the capture log is closed'));
    // Encoded straight into the buffer of the next group commit.
    const room = maxRecordBytes(source, lines);
    if (this.#groupLen + room > this.#group.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.#group.length, this.#groupLen + room));
      this.#group.copy(bigger, 0, 0, this.#groupLen);
      this.#group = bigger;
    }
    this.#groupLen += writeRecord(this.#group, this.#groupLen, source, lines);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    this.#writing ??= this.#pump().finally(() => {
      this.#writing = undefined;
      if (this.#pending.length > 0 || (this.#rotateWanted && this.#active.bytes > 0)) this.#kick();
      this.#notify();
    });
  }

  /** Writes groups until nothing is pending; rotates between groups. */
  async #pump(): Promise<void> {
    for (;;) {
      if (
        this.#broken ||
        this.#active.bytes >= this.segmentBytes ||
        (this.#rotateWanted && this.#active.bytes > 0)
      ) {
        await this.#rotateNow();
      }
      const group = this.#pending.splice(0);
      if (group.length === 0) return;
      const buffer = this.#group;
      const bytes = buffer.subarray(0, this.#groupLen);
      this.#group = this.#spare ?? Buffer.allocUnsafe(GROUP_BYTES);
      this.#spare = undefined;
      this.#groupLen = 0;
      try {
        faultPoint('capture log: write');
        if (faultsArmed) {
          // Two writes, with a fault point between: a kill there leaves a torn record, as a crash
          // in the middle of a large write can (test/e2e/crash-capture.test.ts).
          const half = bytes.length >> 1;
          await this.#fh.write(bytes, 0, half);
          faultPoint('capture log: half written');
          await this.#fh.write(bytes, half, bytes.length - half);
        } else {
          for (let at = 0; at < bytes.length;) {
            at += (await this.#fh.write(bytes, at, bytes.length - at)).bytesWritten;
          }
        }
        faultPoint('capture log: fdatasync');
        await this.#fh.datasync();
        this.#active.bytes += bytes.length;
        this.stats.commits++;
        this.stats.records += group.length;
      } catch (e) {
        this.#broken = true;
        for (const p of group) p.reject(e);
        continue;
      } finally {
        // Written (or failed): its buffer can take a later group.
        if (buffer.length <= MAX_KEPT_GROUP_BYTES) this.#spare = buffer;
      }
      faultPoint('capture log: acknowledge');
      for (const p of group) p.resolve();
      this.#notify();
    }
  }

  async #rotateNow(): Promise<void> {
    this.#rotateWanted = false;
    const old = this.#active;
    await this.#fh.close();
    if (old.bytes > 0 || this.#broken) this.#closed.push(old);
    else await rm(old.file, { force: true });
    await this.#startSegment(old.seq + 1);
    this.#notify();
  }

  /**
   * Closes the active segment once what is being written to it is on disk (when it holds
   * anything), so that the loader can take everything appended before this call. Appends that
   * arrive meanwhile go to the next segment.
   */
  async rotate(): Promise<void> {
    const seq = this.#active.seq;
    if (this.#closing || (this.#active.bytes === 0 && !this.#writing)) return;
    this.#rotateWanted = true;
    if (!this.#writing) this.#kick();
    while (this.#active.seq === seq && !this.#closing) {
      await this.changed();
      if (this.#active.seq === seq && !this.#writing) {
        if (this.#active.bytes === 0) break;
        this.#rotateWanted = true;
        this.#kick();
      }
    }
  }

  /** Removes a segment the loader has loaded. */
  async remove(seg: Segment): Promise<void> {
    const i = this.#closed.indexOf(seg);
    if (i >= 0) this.#closed.splice(i, 1);
    faultPoint('capture log: remove segment');
    await rm(seg.file, { force: true });
    this.#notify();
  }

  /** Resolves at the next append, rotation or removal (or at once if data is waiting). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #notify(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /** Stops taking appends; writes what is pending; leaves every segment for the next open. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#writing) await this.#writing;
    await this.#fh.close();
    if (this.#active.bytes === 0) await rm(this.#active.file, { force: true });
    // An empty log leaves no folder behind.
    if (this.#closed.length === 0 && this.#active.bytes === 0) await rmdir(this.dir).catch(() => undefined);
    this.#notify();
  }
}
