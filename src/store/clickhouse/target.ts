import { resolve } from 'node:path';
import { InputError } from '../../errors.js';

/**
 * A ClickHouse `--db` target (SPEC §2):
 * - `clickhouse://[user[:password]@]host:port/database[?cluster=NAME]`: a server over HTTP
 *   (`?secure=1` for HTTPS), the schema ON CLUSTER NAME when a cluster is named;
 * - `chdb:<dir>`: ClickHouse in-process (the `chdb` package), its data in `<dir>`, through the
 *   same `@clickhouse/client` code as a server.
 */
export type ClickHouseTarget =
  | {
      kind: 'server';
      url: string;
      username: string;
      password: string;
      database: string;
      cluster?: string;
      /** For messages: the URL without its password. */
      display: string;
    }
  | { kind: 'chdb'; dir: string; database: string; display: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseClickHouseTarget(target: string): ClickHouseTarget {
  if (target.startsWith('chdb:')) {
    const dir = target.slice('chdb:'.length);
    if (!dir) throw new InputError('chdb: needs a directory, e.g. chdb:./.sextant/chdb', { field: '--db' });
    return { kind: 'chdb', dir: resolve(dir), database: 'default', display: `chdb:${dir}` };
  }
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new InputError(
      `'${target.replace(/:[^:@/]*@/, ':***@')}' is not a URL like clickhouse://user:password@host:8123/database`,
      { field: '--db' },
    );
  }
  if (u.protocol !== 'clickhouse:') throw new InputError(`unknown scheme '${u.protocol}'`, { field: '--db' });
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'default';
  if (!NAME.test(database)) {
    throw new InputError(`'${database}' is not a database name (letters, digits, _)`, { field: '--db' });
  }
  const cluster = u.searchParams.get('cluster') ?? undefined;
  if (cluster !== undefined && !NAME.test(cluster)) {
    throw new InputError(`'${cluster}' is not a cluster name (letters, digits, _)`, { field: '--db' });
  }
  const secure = ['1', 'true'].includes(u.searchParams.get('secure') ?? '');
  const port = u.port || (secure ? '8443' : '8123');
  const display = `clickhouse://${u.username ? decodeURIComponent(u.username) + '@' : ''}${u.hostname}:${port}/${database}${cluster ? `?cluster=${cluster}` : ''}`;
  return {
    kind: 'server',
    url: `${secure ? 'https' : 'http'}://${u.hostname}:${port}`,
    username: u.username ? decodeURIComponent(u.username) : 'default',
    password: decodeURIComponent(u.password),
    database,
    ...(cluster ? { cluster } : {}),
    display,
  };
}
