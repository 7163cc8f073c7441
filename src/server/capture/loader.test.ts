import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/cli.js';
import type { ImportReport } from '../../ingest/report.js';
import { CaptureLoader } from './loader.js';
import { CaptureLog } from './log.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('the capture loader draining on SIGTERM', () => {
  it('gives up on a segment the store refuses, keeping it in the log, instead of waiting forever', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-loader-'));
    const log = await CaptureLog.open(join(dir, 'log'));
    const lines: string[] = [];
    let attempts = 0;
    const loader = new CaptureLoader({
      log,
      spoolDir: dir,
      report: (l) => lines.push(l),
      delayMs: 0,
      retryMs: 10,
      load: () => {
        attempts++;
        return Promise.reject(new Error('the store refuses it'));
      },
    });
    loader.start();
    await log.append('capture:/batch/', '{"event":"a","distinct_id":"x"}\n');
    // Without untilFailure this never resolves while every load fails: still waiting after 300 ms
    // and after the load was retried (waited for: a loaded machine may not have retried by then).
    let forever = 'still waiting';
    void loader.settle().then(
      () => (forever = 'settled'),
      () => (forever = 'stopped'),
    );
    await new Promise((r) => setTimeout(r, 300));
    await waitFor(() => attempts > 1, 'a retried load');
    expect(forever).toBe('still waiting');
    await loader.settle({ untilFailure: true });
    expect(log.closedSegments()).toHaveLength(1);
    expect(lines.at(-1)).toBe(
      'sextant serve: 1 capture log segment(s) could not be loaded now: kept in the log, loaded at the next start',
    );
    await loader.stop();
    await log.close();
  });

  it('still loads everything first when the store takes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-loader-'));
    const log = await CaptureLog.open(join(dir, 'log'));
    const loaded: string[] = [];
    const loader = new CaptureLoader({
      log,
      spoolDir: dir,
      report: () => undefined,
      delayMs: 0,
      load: (_file, source) => {
        loaded.push(source);
        return Promise.resolve({ records: 1, rejected: [] } as unknown as ImportReport);
      },
    });
    loader.start();
    await log.append('capture:/batch/', '{"event":"a","distinct_id":"x"}\n');
    await loader.settle({ untilFailure: true });
    expect(loaded).toEqual(['capture:/batch/']);
    expect(log.closedSegments()).toHaveLength(0);
    await loader.stop();
    await log.close();
  });
});

describe('the capture loader pacing its loads', () => {
  it('ends its wait for a batch once the active segment holds targetBytes, long before the pause', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-loader-'));
    const log = await CaptureLog.open(join(dir, 'log'));
    const loaded: number[] = [];
    const loader = new CaptureLoader({
      log,
      spoolDir: dir,
      report: () => undefined,
      // A pause no test waits out: only the target (or a settle) ends it.
      delayMs: 600_000,
      maxPauseMs: 600_000,
      targetBytes: 2_000,
      load: (file) => {
        loaded.push(readFileSync(file, 'utf8').split('\n').length - 1);
        return Promise.resolve({ records: 1, rejected: [] } as unknown as ImportReport);
      },
    });
    loader.start();
    await log.append('capture:/batch/', '{"event":"a","distinct_id":"x"}\n');
    expect(loaded).toEqual([]);
    // A request of 40 more lines (~2,300 bytes): past the target, so the batch of 41 is loaded at once.
    const lines = Array.from(
      { length: 40 },
      (_, i) => `{"event":"b","distinct_id":"x","properties":{"i":${i}}}\n`,
    );
    await log.append('capture:/batch/', lines.join(''));
    await waitFor(() => loaded.length > 0, 'the load once past the target');
    expect(loaded).toEqual([41]);
    // Below the target again, a settle (SIGTERM) still ends the pause.
    await log.append('capture:/batch/', '{"event":"c","distinct_id":"x"}\n');
    await loader.settle();
    expect(loaded).toEqual([41, 1]);
    await loader.stop();
    await log.close();
  });
});
