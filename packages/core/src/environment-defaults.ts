import { type ServiceType, serviceEngine } from './service-engines.ts';

/** What a new app starts with: staging follows the default branch, production follows release tags. */
export function defaultEnvironments(defaultBranch: string): { name: string; branch: string | null; tagPattern: string | null }[] {
  return [
    { name: 'production', branch: null, tagPattern: 'v*' },
    { name: 'staging', branch: defaultBranch, tagPattern: null },
  ];
}

/** Environments that cannot be deleted while the app exists. */
export const PROTECTED_ENVIRONMENTS = ['production'] as const;

/** Variables Pier sets itself; a user variable of the same name would be silently overwritten. */
export const RESERVED_VARIABLE_KEYS = ['PORT'] as const;
export const RESERVED_VARIABLE_PREFIX = 'PIER_';

/** The variable a linked managed service injects (its engine's: DATABASE_URL, REDIS_URL), or <SERVICE>_DATABASE_URL for a second one. */
export function injectedVariableKey(type: ServiceType, serviceName: string, primary: boolean): string {
  const base = serviceEngine(type).variable;
  return primary ? base : `${serviceName.toUpperCase().replace(/-/g, '_')}_${base}`;
}
