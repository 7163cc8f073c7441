import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Real headless Chromium for the end-to-end tests: Debian's `chromium` package driven by
 * playwright-core, with a fresh profile per launch. The networking flags matter: without them
 * Chromium hangs on a closed network. A test that needs Chromium fails (never skips) when it is
 * missing, so CI cannot pass without having looked at the page.
 */

export const CHROMIUM_PATH = process.env.SEXTANT_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * Emulate a machine with no network (default). A test of a server on loopback passes false;
   * the page can still reach nothing but what the test serves.
   */
  offline?: boolean;
}

export async function launchBrowser(o: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install -y chromium; .ci/run does) ` +
        'or set SEXTANT_CHROMIUM to its path',
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'sextant-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1366, height: 900 },
    offline: o.offline ?? true,
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
