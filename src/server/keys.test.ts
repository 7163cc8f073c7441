import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { keysFile, resolveServerKeys } from './keys.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveServerKeys', () => {
  it('generates both keys once, keeps them beside the db (0600) and reuses them', () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-keys-'));
    const db = join(dir, 'store.duckdb');
    const first = resolveServerKeys(configSchema.parse({}), db, {});
    expect(first.generated).toEqual(['projectKey', 'adminToken']);
    expect(first.projectKey).toMatch(/^phc_/);
    expect(first.file).toBe(join(dir, 'server-keys.json'));
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const again = resolveServerKeys(configSchema.parse({}), db, {});
    expect(again.generated).toEqual([]);
    expect([again.projectKey, again.adminToken]).toEqual([first.projectKey, first.adminToken]);
  });

  it('prefers the config, then the environment, over stored keys', () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-keys-'));
    const db = join(dir, 'store.duckdb');
    resolveServerKeys(configSchema.parse({}), db, {});
    const env = {
      SEXTANT_PROJECT_KEY: 'env-key',
      SEXTANT_ADMIN_TOKEN: 'env-admin',
      STRIPE_WEBHOOK_SECRET: 'whsec_env',
    };
    const fromEnv = resolveServerKeys(configSchema.parse({}), db, env);
    expect([fromEnv.projectKey, fromEnv.adminToken, fromEnv.stripeWebhookSecret]).toEqual([
      'env-key',
      'env-admin',
      'whsec_env',
    ]);
    const config = configSchema.parse({
      server: { projectKey: 'cfg-key', stripeWebhookSecret: 'whsec_cfg' },
    });
    const fromConfig = resolveServerKeys(config, db, env);
    expect([fromConfig.projectKey, fromConfig.stripeWebhookSecret]).toEqual(['cfg-key', 'whsec_cfg']);
    // Nothing given by config or env was written to the file.
    expect(JSON.parse(readFileSync(fromConfig.file, 'utf8'))).not.toHaveProperty('projectKey', 'cfg-key');
  });

  it('keeps the keys of a non-file store under .sextant/', () => {
    expect(keysFile('clickhouse://h:8123/db')).toBe(join('.sextant', 'server-keys.json'));
  });
});
