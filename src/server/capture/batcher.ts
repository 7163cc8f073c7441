import type { ImportReport, RejectedRecord } from '../../ingest/report.js';
import type { StoreQueue } from '../store-queue.js';
import type { CapturedEvent } from './payload.js';

interface Pending {
  events: CapturedEvent[];
  source: string;
  resolve: (rejected: RejectedRecord[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for captured events. One importer run costs about 0.1 s whatever its size (staging,
 * classification, identity), so requests that arrive while a write is running wait for the next
 * write and are imported together, one run per capture path. Each request is still answered on
 * its own, once its events have committed, with only its own rejected records (`line` = the
 * 1-based index of the event in that request).
 */
export class CaptureBatcher {
  readonly #store: (events: CapturedEvent[], source: string) => Promise<ImportReport>;
  readonly #queue: StoreQueue;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(store: (events: CapturedEvent[], source: string) => Promise<ImportReport>, queue: StoreQueue) {
    this.#store = store;
    this.#queue = queue;
  }

  submit(events: CapturedEvent[], source: string): Promise<RejectedRecord[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ events, source, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      void this.#queue.run(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    // Requests arriving from now on schedule the next write.
    this.#scheduled = false;
    const taken = this.#pending.splice(0);
    const bySource = new Map<string, Pending[]>();
    for (const p of taken) bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
    for (const [source, group] of bySource) {
      let report: ImportReport;
      try {
        report = await this.#store(
          group.flatMap((p) => p.events),
          source,
        );
      } catch (e) {
        for (const p of group) p.reject(e);
        continue;
      }
      let offset = 0;
      for (const p of group) {
        const lo = offset;
        offset += p.events.length;
        p.resolve(
          report.rejected
            .filter((r) => r.line > lo && r.line <= offset)
            .map((r) => ({ ...r, line: r.line - lo })),
        );
      }
    }
  }
}
