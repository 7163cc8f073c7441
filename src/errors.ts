/**
 * The one error type for bad input. The CLI maps it to exit code 2 and the HTTP server to 400;
 * its message names where the problem is (file, line or record, field) so a user can fix it.
 * Anything else thrown is a programmer error and maps to exit code 1 / HTTP 500.
 */
export interface InputErrorWhere {
  file?: string;
  line?: number;
  record?: string;
  field?: string;
}

export class InputError extends Error {
  readonly where: InputErrorWhere;

  constructor(reason: string, where: InputErrorWhere = {}) {
    super(formatWhere(where) + reason);
    this.name = 'InputError';
    this.where = where;
  }
}

function formatWhere(w: InputErrorWhere): string {
  const parts: string[] = [];
  if (w.file !== undefined) parts.push(w.line !== undefined ? `${w.file}:${w.line}` : w.file);
  else if (w.line !== undefined) parts.push(`line ${w.line}`);
  if (w.record !== undefined) parts.push(`record ${w.record}`);
  if (w.field !== undefined) parts.push(`field '${w.field}'`);
  return parts.length ? parts.join(', ') + ': ' : '';
}
