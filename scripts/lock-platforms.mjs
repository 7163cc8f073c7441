// Adds lockfile entries for optional platform packages (other OSes/CPUs) that npm left out
// because this machine's registry does not serve them. Without the entries `npm ci` refuses
// the lockfile ("Missing: … from lock file"); with them (and their os/cpu/libc) npm skips them
// on platforms they are not for. Run after `npm install`: node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
const OS = [
  'darwin',
  'linux',
  'win32',
  'android',
  'freebsd',
  'openbsd',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
];
const CPU = {
  arm64: 'arm64',
  x64: 'x64',
  ia32: 'ia32',
  arm: 'arm',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
};
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const nested = `${path}/node_modules/${name}`;
    if (pkgs[key] || pkgs[nested]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.map((p) => CPU[p]).find(Boolean);
    if (!os || !cpu) continue;
    const entry = { version, cpu: [cpu], os: [os], optional: true, license: 'MIT' };
    if (meta.dev) entry.dev = true;
    if (os === 'linux' && name.includes('musl')) entry.libc = ['musl'];
    else if (os === 'linux' && /-gnu/.test(name)) entry.libc = ['glibc'];
    pkgs[key] = entry;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`lock-platforms: added ${added} optional platform entries`);
