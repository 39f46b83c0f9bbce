/** A string field of a postgres.js error, thrown directly or wrapped (as `cause`) by drizzle. */
function errorField(err: unknown, field: 'code' | 'constraint_name', valid: (value: string) => boolean): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const value = (e as Record<string, unknown>)[field];
    if (typeof value === 'string' && valid(value)) return value;
  }
  return undefined;
}

/** Postgres SQLSTATE of an error thrown by postgres.js, directly or wrapped by drizzle. */
export function sqlState(err: unknown): string | undefined {
  return errorField(err, 'code', (code) => /^[0-9A-Z]{5}$/.test(code));
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === '23505';

/** The constraint (or unique index) a postgres.js error names, directly or wrapped by drizzle. */
export function violatedConstraint(err: unknown): string | undefined {
  return errorField(err, 'constraint_name', () => true);
}
