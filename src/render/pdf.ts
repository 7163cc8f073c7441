import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';

/**
 * review.pdf: index.html printed by a headless Chromium (its print stylesheet: A4 landscape, no
 * navigation, every fold open), driven by playwright-core. No browser is bundled: Sextant uses the
 * one installed — `SEXTANT_CHROMIUM`, else the usual paths — and says so clearly when there is none.
 * The PDF is not byte-stable (Chromium stamps its creation time); index.html and review.json are.
 */

/** Where a Chromium is looked for when SEXTANT_CHROMIUM is not set, in order. */
export const CHROMIUM_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** The Chromium to print with; an InputError (exit 2) naming what was tried when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.SEXTANT_CHROMIUM;
  if (set) {
    if (existsSync(set)) return set;
    throw new InputError(
      `--format pdf: SEXTANT_CHROMIUM is ${set}, which does not exist; point it at a Chromium or Chrome executable`,
      { field: '--format' },
    );
  }
  const found = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (found) return found;
  throw new InputError(
    `--format pdf needs a headless Chromium and none was found (tried ${CHROMIUM_PATHS.join(', ')}); ` +
      'install one (Debian/Ubuntu: apt-get install chromium) or set SEXTANT_CHROMIUM to its path, ' +
      'or print index.html from a browser',
    { field: '--format' },
  );
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The page printed to PDF, A4 landscape as its @page rule says, with every `<details>` open. */
export async function renderPdf(html: string, chromium: string = findChromium()): Promise<Buffer> {
  // Loaded only when a PDF is asked for: the other formats need no browser.
  const { chromium: launcher } = await import('playwright-core');
  const browser = await launcher.launch({ executablePath: chromium, args: ARGS, headless: true });
  try {
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    // Runs in the page (a string: this file is compiled without the DOM's types).
    await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
    await page.emulateMedia({ media: 'print' });
    return await page.pdf({ preferCSSPageSize: true, printBackground: true });
  } finally {
    await browser.close();
  }
}
