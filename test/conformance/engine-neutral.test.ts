/**
 * One code path for every engine: no file of the analyses side imports an engine's folder
 * (`store/duckdb/`, `store/clickhouse/`) or checks which engine it runs on. Adding a third engine
 * is a folder under src/store/ plus a line in store/registry.ts.
 *
 * The importers too: they write through `Engine` and, for events, the engine's import steps
 * (store/event-import.ts); on ClickHouse the events import still runs on a DuckDB stage
 * (store/staging.ts), reached through the same interfaces. IMPORTERS_NOT_YET_NEUTRAL is empty
 * and may only stay so: a file that breaks the rule fails this test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const NEUTRAL = [
  'src/ingest',
  'src/metrics',
  'src/insights',
  'src/analyses',
  'src/review',
  'src/launches',
  'src/app',
];

const IMPORTERS_NOT_YET_NEUTRAL: string[] = [];

/** An import of an engine's folder, or a test of which engine this is. */
const ENGINE_SPECIFIC = [
  /from\s+['"][^'"]*store\/(duckdb|clickhouse)\//,
  /import\(\s*['"][^'"]*store\/(duckdb|clickhouse)\//,
  /instanceof\s+(DuckDb|ClickHouse)Engine/,
  /\.name\s*[!=]==?\s*['"](duckdb|clickhouse)['"]/,
  /['"](duckdb|clickhouse)['"]\s*[!=]==?\s*\w+\.name/,
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('engine-neutral code', () => {
  const offending = NEUTRAL.flatMap(sources).filter((f) =>
    ENGINE_SPECIFIC.some((re) => re.test(readFileSync(f, 'utf8'))),
  );

  it('finds engine-specific code where it is (the check itself works)', () => {
    expect(ENGINE_SPECIFIC.some((re) => re.test("import { x } from '../../store/duckdb/engine.js';"))).toBe(
      true,
    );
    expect(ENGINE_SPECIFIC.some((re) => re.test("if (engine.name !== 'duckdb') throw"))).toBe(true);
    expect(ENGINE_SPECIFIC.some((re) => re.test("import type { Engine } from '../store/engine.js';"))).toBe(
      false,
    );
  });

  it('metrics, insights, analyses, review, launches and the app never name an engine', () => {
    expect(offending.filter((f) => !f.startsWith('src/ingest/'))).toEqual([]);
  });

  it('importers: only the known not-yet-neutral files (the list may only shrink)', () => {
    expect(offending.filter((f) => f.startsWith('src/ingest/')).sort()).toEqual(
      [...IMPORTERS_NOT_YET_NEUTRAL].sort(),
    );
  });
});
