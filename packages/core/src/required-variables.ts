/** A variable an app says it needs (`pier.json` `requiredVariables`). */
export interface RequiredVariable {
  name: string;
  description?: string;
}

/** The required variables that are not among `present` (set in the environment, or injected by a link). */
export function missingVariables(required: readonly RequiredVariable[], present: Iterable<string>): RequiredVariable[] {
  const have = new Set(present);
  return required.filter((variable) => !have.has(variable.name));
}

/**
 * Why a release cannot be made while variables are missing, naming each and
 * what it is for, e.g. `required variables are not set in staging: SECRET_KEY (signs sessions), STRIPE_KEY`.
 */
export function missingVariablesReason(app: string, environment: string, missing: readonly RequiredVariable[]): string {
  const names = missing.map((v) => (v.description ? `${v.name} (${v.description})` : v.name)).join(', ');
  return `required variable${missing.length > 1 ? 's are' : ' is'} not set in ${environment}: ${names}; set ${missing.length > 1 ? 'them' : 'it'} with PATCH /apps/${app}/environments/${environment}/variables, then deploy again`;
}
