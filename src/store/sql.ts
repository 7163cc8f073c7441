/**
 * A `sql` tagged template: every interpolated value becomes a bound parameter, never SQL text.
 * Identifiers go through `ident()` (quoted), trusted fragments through `raw()` (only ever our own
 * constants: dialect output, column lists), and nested `sql` fragments compose.
 *
 *   sql`select count(*) from events where event = ${name} and ${raw(d.sqlMonthStart('timestamp'))} = ${m}`
 *
 * An engine renders the placeholders its own way (`$1` in DuckDB, `{p1:String}` in ClickHouse).
 */
export type SqlValue =
  string | number | bigint | boolean | null | Date | readonly string[] | readonly number[];

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'value'; value: SqlValue }
  /** One fragment spelled for each engine (`perEngine`); an engine renders its own. */
  | { kind: 'choice'; options: Readonly<Record<string, readonly Part[]>> };

export class Sql {
  readonly parts: readonly Part[];

  constructor(parts: readonly Part[]) {
    this.parts = parts;
  }

  /**
   * Renders with `placeholder(i, value)` for the i-th (0-based) parameter; `engine` picks the
   * spelling of `perEngine` fragments (the first one when not given).
   */
  render(
    placeholder: (index: number, value: SqlValue) => string,
    engine?: string,
  ): { text: string; values: SqlValue[] } {
    let text = '';
    const values: SqlValue[] = [];
    const walk = (parts: readonly Part[]): void => {
      for (const p of parts) {
        if (p.kind === 'text') text += p.text;
        else if (p.kind === 'value') {
          text += placeholder(values.length, p.value);
          values.push(p.value);
        } else
          walk((engine !== undefined ? p.options[engine] : undefined) ?? Object.values(p.options)[0] ?? []);
      }
    };
    walk(this.parts);
    return { text, values };
  }

  /** For error messages and tests: the text with `?` for each parameter. */
  toString(): string {
    return this.render(() => '?').text;
  }
}

export function sql(strings: TemplateStringsArray, ...args: ReadonlyArray<SqlValue | Sql>): Sql {
  const parts: Part[] = [];
  strings.forEach((s, i) => {
    if (s) parts.push({ kind: 'text', text: s });
    if (i < args.length) {
      const a = args[i] as SqlValue | Sql;
      if (a instanceof Sql) parts.push(...a.parts);
      else parts.push({ kind: 'value', value: a });
    }
  });
  return new Sql(parts);
}

/** Trusted SQL text: dialect output and our own constants only, never user input. */
export function raw(text: string): Sql {
  return new Sql([{ kind: 'text', text }]);
}

/** A quoted identifier (table, column). Double quotes work in both DuckDB and ClickHouse. */
export function ident(name: string): Sql {
  return raw('"' + name.replaceAll('"', '""') + '"');
}

export function join(fragments: readonly Sql[], separator = ', '): Sql {
  const parts: Part[] = [];
  fragments.forEach((f, i) => {
    if (i > 0) parts.push({ kind: 'text', text: separator });
    parts.push(...f.parts);
  });
  return new Sql(parts);
}

export const empty = new Sql([]);

/**
 * One fragment in each engine's spelling, rendered by each engine as its own: lets one query run
 * unchanged on several engines at once (the conformance suite's twin engine, test/conformance).
 */
export function perEngine(options: Readonly<Record<string, Sql>>): Sql {
  const byEngine: Record<string, readonly Part[]> = {};
  for (const [engine, q] of Object.entries(options)) byEngine[engine] = q.parts;
  return new Sql([{ kind: 'choice', options: byEngine }]);
}
