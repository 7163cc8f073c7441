// The executable entry (bin/sextant.js imports this module); the program itself is in program.ts.
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
