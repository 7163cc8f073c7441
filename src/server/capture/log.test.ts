import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CaptureLog, decodeSegment, encodeRecord, readSegment } from './log.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});
const tmp = (): string => (dir = mkdtempSync(join(tmpdir(), 'sextant-log-')));
const lines = (...xs: object[]): Buffer => Buffer.from(xs.map((x) => JSON.stringify(x) + '\n').join(''));

describe('capture log records', () => {
  const records = [
    encodeRecord('capture:/batch/', lines({ event: 'a', n: 1 }, { event: 'b', n: 2 })),
    encodeRecord('capture:/e/', lines({ event: 'ünïcode ✓', n: 3 })),
    encodeRecord('capture:/i/v0/e/', lines({ event: 'c', n: 4 })),
  ];
  const whole = Buffer.concat(records);
  const firstTwo = records[0]!.length + records[1]!.length;

  it('reads back source and lines of every whole record', () => {
    const r = decodeSegment(whole);
    expect(r.records.map((x) => [x.source, x.lines.toString()])).toEqual([
      ['capture:/batch/', '{"event":"a","n":1}\n{"event":"b","n":2}\n'],
      ['capture:/e/', '{"event":"ünïcode ✓","n":3}\n'],
      ['capture:/i/v0/e/', '{"event":"c","n":4}\n'],
    ]);
    expect(r).toMatchObject({ goodBytes: whole.length, tornBytes: 0 });
  });

  it('skips a torn last record cut at any byte, keeping every record before it', () => {
    for (let len = firstTwo; len < whole.length; len++) {
      const r = decodeSegment(whole.subarray(0, len));
      expect(r.records, `cut at ${len}`).toHaveLength(2);
      expect(r.goodBytes).toBe(firstTwo);
      expect(r.tornBytes).toBe(len - firstTwo);
    }
  });

  it('skips a last record whose bytes changed (checksum), or zeros where it should be', () => {
    for (let at = firstTwo; at < whole.length; at++) {
      const bad = Buffer.from(whole);
      bad[at] = bad[at]! ^ 0x20;
      expect(decodeSegment(bad).records, `byte ${at} flipped`).toHaveLength(2);
    }
    const zeros = Buffer.concat([whole.subarray(0, firstTwo), Buffer.alloc(4096)]);
    expect(decodeSegment(zeros)).toMatchObject({ goodBytes: firstTwo, tornBytes: 4096 });
  });
});

describe('capture log', () => {
  it('acknowledges concurrent appends with far fewer fsyncs than records (group commit)', async () => {
    const log = await CaptureLog.open(tmp());
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => log.append('capture:/e/', lines({ event: 'e', i }))),
    );
    expect(log.stats.records).toBe(200);
    // The first append is written alone; the rest arrived while it was on its way to disk.
    expect(log.stats.commits).toBeLessThan(20);
    const active = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    expect(active).toHaveLength(1);
    const read = await readSegment(join(dir, active[0]!));
    const got = read.records
      .map((r) => (JSON.parse(r.lines.toString()) as { i: number }).i)
      .sort((a, b) => a - b);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(log.unloadedBytes()).toBe(read.goodBytes);
    await log.close();
  });

  it('rotates: the closed segment holds what came before, later appends go to the next', async () => {
    const log = await CaptureLog.open(tmp());
    await log.append('capture:/e/', lines({ n: 1 }));
    await log.rotate();
    expect(log.closedSegments().map((s) => s.seq)).toEqual([1]);
    expect(log.activeSeq).toBe(2);
    await log.append('capture:/e/', lines({ n: 2 }));
    // Nothing to rotate when the active segment is empty.
    await log.rotate();
    await log.rotate();
    expect(log.closedSegments().map((s) => s.seq)).toEqual([1, 2]);
    const seg = log.closedSegments()[0]!;
    await log.remove(seg);
    expect(readdirSync(dir).sort()).toEqual(['000000000002.seg', '000000000003.seg']);
    await log.close();
    // The empty active segment is not left behind.
    expect(readdirSync(dir)).toEqual(['000000000002.seg']);
  });

  it('closes a segment past its size by itself', async () => {
    const log = await CaptureLog.open(tmp(), { segmentBytes: 200 });
    for (let i = 0; i < 10; i++) await log.append('capture:/e/', lines({ pad: 'x'.repeat(60), i }));
    expect(log.closedSegments().length).toBeGreaterThanOrEqual(3);
    await log.close();
  });

  it('replays what a previous process left, a torn tail skipped, an empty segment removed', async () => {
    const d = tmp();
    const log = await CaptureLog.open(d);
    await log.append('capture:/batch/', lines({ n: 1 }));
    await log.append('capture:/batch/', lines({ n: 2 }));
    // A kill: no close; then a record cut half way, as a kill mid-write leaves it.
    const file = join(d, '000000000001.seg');
    const torn = encodeRecord('capture:/batch/', lines({ n: 3 }));
    writeFileSync(file, Buffer.concat([readFileSync(file), torn.subarray(0, 20)]));
    writeFileSync(join(d, '000000000002.seg'), '');
    const again = await CaptureLog.open(d);
    expect(again.closedSegments().map((s) => s.seq)).toEqual([1]);
    expect(again.activeSeq).toBe(3);
    const read = await readSegment(again.closedSegments()[0]!.file);
    expect(read.records.map((r) => r.lines.toString())).toEqual(['{"n":1}\n', '{"n":2}\n']);
    expect(read.tornBytes).toBe(20);
    await again.close();
    await log.close().catch(() => undefined);
  });
});
