// Writes schema/review.schema.json from the zod schemas of src/domain/review.ts (after tsc, from
// dist/): the JSON Schema is generated, never edited by hand. src/domain/review.test.ts checks
// that the committed file is the generated one.
import { writeFileSync } from 'node:fs';
import { reviewJsonSchema } from '../dist/domain/review.js';

writeFileSync(
  new URL('../schema/review.schema.json', import.meta.url),
  JSON.stringify(reviewJsonSchema(), null, 2) + '\n',
);
