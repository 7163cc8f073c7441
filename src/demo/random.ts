/**
 * The demo's own seeded PRNG (sfc32 seeded through splitmix32), so the same seed gives the same
 * company byte for byte. Never Math.random. Each organization draws from its own stream
 * (`Random.derive(seed, 'org', i)`), so one organization's draws never shift another's.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** An independent stream for a named part of the company (FNV-1a of the labels, mixed with the seed). */
  static derive(seed: number, ...labels: Array<string | number>): Random {
    let h = 0x811c9dc5 ^ (seed >>> 0);
    for (const ch of labels.join('\u0000')) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193);
    }
    return new Random(h >>> 0);
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  uniform(lo: number, hi: number): number {
    return lo + this.float() * (hi - lo);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** One of `items` with probability proportional to its weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.float() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  normal(mean = 0, sd = 1): number {
    const u = 1 - this.float();
    const v = this.float();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Poisson(lambda): Knuth's product method for small lambda, a rounded normal for large. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 40) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += hex8(this.u32());
    return out.slice(0, n);
  }

  /** `n` characters of [0-9A-Za-z], the alphabet of Stripe ids. */
  base62(n: number): string {
    const abc = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let out = '';
    for (let i = 0; i < n; i++) out += abc[this.u32() % 62];
    return out;
  }

  /** A UUIDv7 (PostHog's default): 48 bits of Unix milliseconds, then version, variant and random bits. */
  uuid7(ms: number): string {
    const t = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
    const a = hex8(this.u32());
    const b = hex8(this.u32());
    const c = hex8(this.u32());
    const variant = HEX_DIGIT[8 | (this.u32() & 3)] ?? '8';
    return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${a.slice(0, 3)}-${variant}${a.slice(3, 6)}-${b}${c.slice(0, 4)}`;
  }
}

const HEX_DIGIT = '0123456789abcdef';
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return (
    (HEX_BYTE[x >>> 24] ?? '') +
    (HEX_BYTE[(x >>> 16) & 255] ?? '') +
    (HEX_BYTE[(x >>> 8) & 255] ?? '') +
    (HEX_BYTE[x & 255] ?? '')
  );
}
