/**
 * Fault injection for the crash tests (test/e2e/crash-*.test.ts; docs/ingest.md, "Crash
 * safety"). A fault point is a place where a real crash can land: before each store statement and
 * each transaction's commit, between a migration's commit and the checkpoint, before each chunk
 * file an import writes, before the store is closed.
 *
 * - `SEXTANT_FAULT_AT=n`: the process kills itself with SIGKILL (no cleanup, no `finally`, no
 *   close: what `kill -9` or a power cut leaves) on reaching its n-th fault point.
 * - `SEXTANT_FAULT_TRACE=<file>`: at exit, writes the fault points the process passed, one label
 *   a line, so a test can spread its kills over the whole of a run or aim at one point.
 * - `SEXTANT_FAULT_MATCH=<text>`: only fault points whose label contains `text` are counted by
 *   `SEXTANT_FAULT_AT` (and traced), e.g. `capture log: half written` to die in the middle of
 *   the n-th write of the capture log whatever ran before it.
 *
 * Without either variable a fault point is one comparison.
 */
import { writeFileSync } from 'node:fs';

const killAt = Number(process.env.SEXTANT_FAULT_AT ?? 0);
const traceFile = process.env.SEXTANT_FAULT_TRACE;
const active = killAt > 0 || Boolean(traceFile);
const match = process.env.SEXTANT_FAULT_MATCH;
const trace: string[] = [];

/** Whether fault points count at all (either variable set): code may then split a step to put one inside it. */
export const faultsArmed = active;

if (traceFile) {
  process.on('exit', () => writeFileSync(traceFile, trace.map((l) => l + '\n').join('')));
}

/** Marks a fault point; `label` says where (printed on stderr when the process dies there). */
export function faultPoint(label: string | (() => string)): void {
  if (!active) return;
  if (typeof label === 'function') label = label();
  if (match && !label.includes(match)) return;
  trace.push(label);
  if (trace.length === killAt) {
    // stderr is synchronous for files and pipes: the line is out before the kill.
    process.stderr.write(`sextant: fault point ${killAt} (${label}): SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
    // The signal is delivered asynchronously: run nothing more meanwhile.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  }
}
