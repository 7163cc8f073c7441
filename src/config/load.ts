import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'sextant.config.yaml';

/** The built-in defaults: what an empty config file means. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** Validates a parsed config object; `file` names it in errors. */
export function parseConfig(value: unknown, file = 'config'): Config {
  const result = configSchema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0] ?? ''].join('.');
    throw new InputError(`unknown key '${key}'`, { file, field: key });
  }
  const key = path.join('.') || '(top level)';
  throw new InputError(`${issue.message}`, { file, field: key });
}

/**
 * Loads `file`, or `sextant.config.yaml` when present, else the built-in defaults.
 * A file named explicitly must exist.
 */
export function loadConfig(file?: string): Config {
  const path = file ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!path) return defaultConfig();
  if (!existsSync(path)) throw new InputError('config file not found', { file: path });
  const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new InputError(`invalid YAML: ${e.message.split('\n')[0]}`, {
      file: path,
      line: e.linePos?.[0]?.line,
    });
  }
  return parseConfig(doc.toJS(), path);
}
