// Copies non-TypeScript assets (SQL migrations, templates) from src/ to dist/ after tsc.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ASSET = /\.(sql|yaml|css|json)$/;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (ASSET.test(name)) cpSync(p, p.replace(/^src/, 'dist'));
  }
}
walk('src');
