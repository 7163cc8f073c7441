import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * Lines written through gzip to a file with backpressure: lines are batched into ~1 MB chunks and
 * the writer waits for 'drain' whenever zlib's buffer is full, so memory stays bounded however many
 * lines go through. Same input and level → same bytes.
 */
export class GzipLines {
  readonly #gzip: Gzip;
  readonly #done: Promise<void>;
  #parts: string[] = [];
  #size = 0;
  count = 0;

  constructor(path: string, level = 3) {
    this.#gzip = createGzip({ level });
    this.#done = pipeline(this.#gzip, createWriteStream(path));
  }

  /** Adds one line (without its newline); await it so backpressure can pause the caller. */
  write(line: string): Promise<void> | undefined {
    this.#parts.push(line);
    this.#size += line.length + 1;
    this.count++;
    return this.#size >= 1 << 20 ? this.#flush() : undefined;
  }

  async #flush(): Promise<void> {
    if (this.#parts.length === 0) return;
    const chunk = this.#parts.join('\n') + '\n';
    this.#parts = [];
    this.#size = 0;
    if (!this.#gzip.write(chunk)) await once(this.#gzip, 'drain');
  }

  async close(): Promise<void> {
    await this.#flush();
    this.#gzip.end();
    await this.#done;
  }
}
