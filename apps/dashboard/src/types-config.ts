/** The API's answers the variables, domains and services pages read (see /openapi.json for all of them). */

/** GET …/variables: `value` is null unless `?reveal=true`. */
export interface Variable {
  key: string;
  value: string | null;
  updatedAt: string;
}

/** The deployment a change started, as far as these pages show it. */
export interface StartedDeployment {
  id: string;
  state: string;
}

/** PATCH …/variables. */
export interface VariableChange {
  set: string[];
  unset: string[];
  configVersion: number;
  /** The redeploy `redeploy: true` started; null when nothing is deployed yet. */
  deployment: StartedDeployment | null;
}

/** GET …/links: a linked service and the names it injects (never their values). */
export interface ServiceLink {
  service: string;
  type: string;
  version: string;
  state: string;
  variable: string | null;
  variables: string[];
  linkedAt: string;
}

export interface DnsRecord {
  type: 'CNAME' | 'A' | 'AAAA';
  name: string;
  value: string;
}

export interface Certificate {
  state: 'pending' | 'issued' | 'failed';
  notBefore: string | null;
  notAfter: string | null;
  valid: boolean;
  lastError: string | null;
  nextAttemptAt: string | null;
}

export interface Domain {
  hostname: string;
  createdAt: string;
  certificate: Certificate | null;
  records: DnsRecord[];
}

export interface DomainList {
  domains: Domain[];
  https: { redirect: boolean; hsts: boolean };
}

export type ServiceType = 'postgres' | 'redis';

export interface ManagedService {
  id: string;
  name: string;
  type: ServiceType;
  version: string;
  image: string;
  state: 'provisioning' | 'ready' | 'failed' | 'deleting';
  lastError: string | null;
  backupSchedule: string;
  backupRetention: number;
  createdAt: string;
  readyAt: string | null;
  /** `app/environment` of each linked environment. */
  linkedTo?: string[];
  connection: { host: string; port: number };
}

export interface Backup {
  id: string;
  service: string;
  type: ServiceType;
  version: string;
  trigger: string;
  state: 'pending' | 'running' | 'verifying' | 'good' | 'failed';
  file: string | null;
  sizeBytes: number | null;
  verification: {
    verifiedAt?: string;
    problems?: string[];
    /** Postgres: rows per table; Redis: keys, as restored into a scratch container. */
    found?: { tables?: Record<string, number>; keys?: number };
  } | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ServiceOperation {
  id: string;
  kind: string;
  state: 'pending' | 'running' | 'done' | 'failed';
  backupId: string | null;
  attempts: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}
