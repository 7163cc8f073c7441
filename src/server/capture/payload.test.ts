import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import { inflate } from './body.js';
import { decodeBody, decodeCapture } from './payload.js';

const now = new Date('2024-05-01T00:00:00.000Z');
const req = (body: string | Uint8Array, query: Record<string, string> = {}, contentType?: string) => ({
  body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  contentType,
  query,
  now,
});

describe('decodeBody', () => {
  const value = { event: 'x', properties: { note: 'a+b/c?' } };
  const json = JSON.stringify(value);

  it('reads gzip by its magic bytes whatever the content type says (inflated first)', async () => {
    const body = await inflate(gzipSync(json));
    expect(decodeBody(body, 'application/x-www-form-urlencoded')).toEqual(value);
    // Not gzip: as it is.
    expect(await inflate(Buffer.from(json))).toEqual(Buffer.from(json));
  });

  it('reads a form data= field holding base64, including an unescaped + read as a space', () => {
    const b64 = Buffer.from('{"a":"~~~>>>"}').toString('base64'); // 'eyJhIjoifn5+Pj4+In0=' has a '+'
    expect(b64).toContain('+');
    expect(decodeBody(new TextEncoder().encode('data=' + b64), 'application/x-www-form-urlencoded')).toEqual({
      a: '~~~>>>',
    });
    expect(decodeBody(new TextEncoder().encode('data=' + encodeURIComponent(json)), undefined)).toEqual(
      value,
    );
  });

  it('reads a bare base64 body and plain JSON', () => {
    expect(decodeBody(new TextEncoder().encode(Buffer.from(json).toString('base64')), 'text/plain')).toEqual(
      value,
    );
    expect(decodeBody(new TextEncoder().encode(json), 'application/json')).toEqual(value);
  });

  it('rejects what is none of them, naming the field', () => {
    expect(() => decodeBody(new TextEncoder().encode('hello world!'), undefined)).toThrow(InputError);
    expect(() => decodeBody(gzipSync('x'), undefined)).toThrow(/gzip/);
    expect(() => decodeBody(new TextEncoder().encode('data=abc&compression=lz64'), undefined)).toThrow(
      /lz64/,
    );
    expect(() => decodeBody(new Uint8Array(), undefined)).toThrow(/empty/);
  });
});

describe('decodeCapture', () => {
  it('unwraps a batch envelope, takes distinct_id from properties and times offsets from sent_at', () => {
    const body = JSON.stringify({
      api_key: 'k1',
      sent_at: '2024-04-30T12:00:00.000Z',
      batch: [
        { event: 'a', properties: { distinct_id: 'p1' }, offset: 1500, uuid: 'u1' },
        { event: 'b', distinct_id: 'p2', timestamp: '2024-04-01T00:00:00Z', $set: { plan: 'pro' } },
        { event: 'c', distinct_id: 'p3' },
      ],
    });
    const p = decodeCapture(req(body));
    expect(p.tokens).toEqual(['k1']);
    expect(p.events).toEqual([
      // 12:00:00.000 − 1.5 s
      {
        event: 'a',
        distinct_id: 'p1',
        timestamp: '2024-04-30T11:59:58.500Z',
        properties: { distinct_id: 'p1' },
        uuid: 'u1',
      },
      {
        event: 'b',
        distinct_id: 'p2',
        timestamp: '2024-04-01T00:00:00Z',
        properties: {},
        $set: { plan: 'pro' },
      },
      // neither timestamp nor offset: the send time
      { event: 'c', distinct_id: 'p3', timestamp: '2024-04-30T12:00:00.000Z', properties: {} },
    ]);
  });

  it("without sent_at, offsets count back from posthog-js's `_` query (ms), else from now", () => {
    const one = JSON.stringify({ event: 'a', distinct_id: 'p', offset: 250 });
    expect(
      decodeCapture(req(one, { _: String(Date.parse('2024-04-30T00:00:01.000Z')) })).events[0]!.timestamp,
    ).toBe('2024-04-30T00:00:00.750Z');
    expect(decodeCapture(req(one)).events[0]!.timestamp).toBe('2024-04-30T23:59:59.750Z');
  });

  it('collects every token: body, events, query; and rejects a non-object event', () => {
    const body = JSON.stringify([
      { event: 'a', distinct_id: 'p', properties: { token: 't1' } },
      { event: 'b', distinct_id: 'p', properties: { token: 't2' } },
    ]);
    expect(decodeCapture(req(body, { api_key: 't3' })).tokens.sort()).toEqual(['t1', 't2', 't3']);
    expect(() => decodeCapture(req('[1]'))).toThrow(/batch\[0\]/);
    expect(() => decodeCapture(req('{"event":"a","offset":"soon"}'))).toThrow(/offset/);
  });

  it('refuses a sent_at that is no real date, an offset no date can hold, and invalid UTF-8', () => {
    const batch = (sent_at: unknown, offset = 0) =>
      JSON.stringify({ api_key: 'k', sent_at, batch: [{ event: 'a', distinct_id: 'p', offset }] });
    // new Date() would have rolled 2025-02-30 over to March 2
    expect(() => decodeCapture(req(batch('2025-02-30T10:00:00Z')))).toThrow(
      "field 'sent_at': not a calendar date: '2025-02-30T10:00:00Z'",
    );
    expect(() => decodeCapture(req(batch('yesterday')))).toThrow(/sent_at/);
    // An offset of 1e15 ms is year −29663: a time, left to the importer's range check (which
    // rejects it by name); 1e17 ms is no date at all.
    expect(decodeCapture(req(batch('2024-04-30T12:00:00Z', 1e15))).events[0]!.timestamp).toMatch(/^-0296/);
    expect(() => decodeCapture(req(batch('2024-04-30T12:00:00Z', 1e17)))).toThrow(
      /batch\[0\], field 'offset'/,
    );
    const latin1 = Buffer.from('{"event":"caf\u00e9","distinct_id":"p","api_key":"k"}', 'latin1');
    expect(() => decodeCapture(req(latin1))).toThrow("field 'body': the body is not valid UTF-8");
  });
});

describe('inflate', () => {
  it('names a gzip body that does not decompress (truncated, corrupted)', async () => {
    const gz = gzipSync(JSON.stringify({ event: 'x', distinct_id: 'p' }));
    await expect(inflate(Buffer.from([0x1f, 0x8b, 1, 2]))).rejects.toThrow(InputError);
    await expect(inflate(gz.subarray(0, gz.length - 6))).rejects.toThrow(/does not decompress/);
    const bad = Buffer.from(gz);
    bad[12] = bad[12]! ^ 0xff;
    await expect(inflate(bad)).rejects.toThrow(/does not decompress/);
  });

  it('stops a gzip bomb at the cap with a 413, whatever it would decompress to', async () => {
    // 16 MB of zeros in 16 kB: the stream is destroyed once 1 MB came out.
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 1 });
    expect(bomb.length).toBeLessThan(100_000);
    await expect(inflate(bomb, 1024 * 1024)).rejects.toMatchObject({ status: 413 });
    const exact = gzipSync(Buffer.alloc(1024 * 1024, 'a'));
    expect((await inflate(exact, 1024 * 1024)).length).toBe(1024 * 1024);
  });

  it('gives the same bytes whether a body is inflated at once (small) or streamed (over 1 MB out)', async () => {
    // A small body comes out at once; one that gives more than 1 MB is handed to the stream,
    // which gives all of it up to the cap, and past the cap a 413 as before.
    const lines = (n: number): Buffer =>
      Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ event: 'e', i }) + '\n').join(''));
    for (const raw of [lines(10), lines(60_000), lines(200_000)]) {
      const out = await inflate(gzipSync(raw));
      expect(out.equals(raw)).toBe(true);
    }
    const big = lines(200_000); // ~4.5 MB of JSON in well under 1 MB of gzip
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    await expect(inflate(gzipSync(big), 2 * 1024 * 1024)).rejects.toMatchObject({ status: 413 });
    // Corrupt past the first megabyte of output: the stream names it, as the one-shot path does.
    const gz = gzipSync(big);
    await expect(inflate(gz.subarray(0, gz.length - 6))).rejects.toThrow(/does not decompress/);
  });
});

describe('send time', () => {
  it('is a 400 naming `_` or `offset` when it is no time JS can write, never an exception', () => {
    const one = JSON.stringify({ event: 'a', distinct_id: 'p', offset: 1 });
    for (const bad of ['1e300', '9'.repeat(5000), '99999999999999999', 'soon', '-5']) {
      expect(() => decodeCapture(req(one, { _: bad }))).toThrow(/field '_'/);
    }
    const far = JSON.stringify({ event: 'a', distinct_id: 'p', offset: 1e17 });
    expect(() => decodeCapture(req(far))).toThrow(/field 'offset'/);
  });
});
