#!/usr/bin/env node
// libuv's threadpool (4 threads unless told) runs DuckDB's queries AND the file I/O and zlib work
// of this process. In `sextant serve` a review build's reads, the capture loader's import and the
// timestamp reader can hold all four, and a capture log fdatasync queued behind them waited
// for a whole query (9.5 s against 4 running queries; 23 ms with 16 threads: docs/http.md). So
// more threads, set before anything starts the pool (the program is imported after this line).
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../dist/cli/main.js');
