import type { Dialect, EngineName } from './dialect.js';
import type { Sql } from './sql.js';

export type Row = Record<string, unknown>;

/**
 * A connection to one store. Impure: it runs what a dialect spells. Only code under
 * `store/<engine>/` talks to a driver; everything else holds an `Engine`.
 *
 * Values come back as plain JS: numbers for integers that fit, strings for text, ISO strings for
 * timestamps, parsed values for JSON/arrays/structs. Big integers beyond 2^53 come back as strings.
 */
export interface Engine {
  readonly name: EngineName;
  readonly dialect: Dialect;
  /** Where it is, for messages: a file path or a URL without password. */
  readonly target: string;
  /** Runs a query and returns every row. */
  query<T = Row>(q: Sql): Promise<T[]>;
  /** Runs a statement (or several, separated by `;`, when it has no parameters). */
  exec(q: Sql): Promise<void>;
  /** Applies pending migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}
