/**
 * The server's two secrets: the project key the capture API checks (`api_key`/`token`, like a
 * PostHog project token) and the admin token of the JSON API and web UI. Each comes from the
 * config or the environment; when neither sets it, one is generated on first start and stored in
 * `server-keys.json` beside the database (mode 0600) so restarts keep it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';

export interface ServerKeys {
  projectKey: string;
  adminToken: string;
  /** The Stripe webhook signing secret (`whsec_…`), when configured. */
  stripeWebhookSecret?: string;
  /** Which of the keys were generated now (the CLI prints them). */
  generated: ('projectKey' | 'adminToken')[];
  /** Where generated keys are kept. */
  file: string;
}

/** `server-keys.json` beside a DuckDB file; under `.sextant/` for other stores. */
export function keysFile(dbTarget: string): string {
  const local = !/^[a-z][a-z0-9+.-]+:/i.test(dbTarget) && dbTarget !== ':memory:';
  return join(local ? dirname(dbTarget) : '.sextant', 'server-keys.json');
}

export function resolveServerKeys(
  config: Config,
  dbTarget: string,
  env: NodeJS.ProcessEnv = process.env,
): ServerKeys {
  const file = keysFile(dbTarget);
  const stored = readStored(file);
  const generated: ServerKeys['generated'] = [];
  const projectKey =
    config.server.projectKey ||
    env.SEXTANT_PROJECT_KEY ||
    stored.projectKey ||
    (generated.push('projectKey'), `phc_${randomBytes(24).toString('base64url')}`);
  const adminToken =
    env.SEXTANT_ADMIN_TOKEN ||
    stored.adminToken ||
    (generated.push('adminToken'), randomBytes(32).toString('base64url'));
  if (generated.length > 0) {
    mkdirSync(dirname(file), { recursive: true });
    const keep = {
      ...stored,
      ...(generated.includes('projectKey') ? { projectKey } : {}),
      ...(generated.includes('adminToken') ? { adminToken } : {}),
    };
    writeFileSync(file, JSON.stringify(keep, null, 2) + '\n', { mode: 0o600 });
  }
  const stripeWebhookSecret = config.server.stripeWebhookSecret || env.STRIPE_WEBHOOK_SECRET || undefined;
  return { projectKey, adminToken, stripeWebhookSecret, generated, file };
}

function readStored(file: string): { projectKey?: string; adminToken?: string } {
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); fix or delete it`);
  }
  const o = (value ?? {}) as Record<string, unknown>;
  return {
    projectKey: typeof o.projectKey === 'string' ? o.projectKey : undefined,
    adminToken: typeof o.adminToken === 'string' ? o.adminToken : undefined,
  };
}
