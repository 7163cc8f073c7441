import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { defaultConfig, loadConfig, parseConfig } from './load.js';
import { CONFIG_TEMPLATE } from './template.js';

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sextant-config-')), 'sextant.config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config', () => {
  it('has the SPEC §4 defaults', () => {
    const c = defaultConfig();
    expect(c.products).toEqual([]);
    expect(c.activity.activeEvents).toEqual(['*']);
    expect(c.activity.excludeEvents).toContain('$feature_flag_called');
    expect(c.onboarding).toEqual({ steps: [], windowDays: 14 });
    expect(c.topCustomers).toBe(10);
    expect(c.leadingIndicators).toEqual({ windowDays: [7, 14], outcomeDays: [56, 90], maxThreshold: 10 });
    expect(c.billing.link).toBe('metadata.group_key');
    expect(c.reporting).toEqual({ currency: 'USD', fx: {} });
  });

  it('the init template parses to exactly the defaults', () => {
    expect(parseConfig(parse(CONFIG_TEMPLATE))).toEqual(defaultConfig());
  });

  it('names an unknown key, nested too', () => {
    expect(() => parseConfig({ reporting: { currency: 'EUR', fxx: {} } }, 'c.yaml')).toThrow(
      "c.yaml, field 'reporting.fxx': unknown key 'reporting.fxx'",
    );
    expect(() => parseConfig({ topCustomer: 3 })).toThrow("unknown key 'topCustomer'");
  });

  it('names a key of the wrong type', () => {
    const err = (() => {
      try {
        parseConfig({ topCustomers: 'ten' }, 'c.yaml');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).where.field).toBe('topCustomers');
    expect(() => parseConfig({ products: [{ name: 'x', events: 'a*' }] })).toThrow(
      "field 'products.0.events'",
    );
  });

  it('refuses a product named all', () => {
    expect(() => parseConfig({ products: [{ name: 'all' }] })).toThrow("field 'products.0.name'");
  });

  it('loads YAML from a file and reports a YAML syntax error with its line', () => {
    const good = writeTemp(
      'products:\n  - name: replay\n    events: ["recording_*"]\nreporting: {currency: eur, fx: {USD: 0.9}}\n',
    );
    const c = loadConfig(good);
    expect(c.products[0]).toEqual({ name: 'replay', events: ['recording_*'], stripeProducts: [] });
    expect(c.reporting.currency).toBe('EUR');
    const bad = writeTemp('products: [\n  name: x\n');
    expect(() => loadConfig(bad)).toThrow(/invalid YAML/);
    expect(() => loadConfig('/nonexistent/sextant.yaml')).toThrow('config file not found');
  });
});
