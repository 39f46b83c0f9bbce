/**
 * The engines Pier runs as managed services. A third one is a name here, an
 * entry in `SERVICE_ENGINES` (the compiler asks for it), its worker folder
 * (`apps/worker/src/services/engines/<name>/`), its image setting in the
 * config, and the value in the `service_type` enum of the database.
 */
export const SERVICE_TYPES = ['postgres', 'redis'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** What a managed service's clients need; sealed at rest, shown only on request. */
export interface ServiceCredentials {
  user: string;
  password: string;
  /** Postgres database name; Redis uses database 0. */
  database: string;
}

/** Where a linked app reaches a service, and as whom. */
export interface ServiceEndpoint {
  /** The service's name on its network (`pier-svc-<name>`). */
  host: string;
  credentials: ServiceCredentials;
}

/** A command run inside a service's container: ready once it exits 0 printing `expect`. */
export interface ReadinessProbe {
  /** An argument array, run without a shell. */
  command: string[];
  /** The password goes here, never into `command` (which `ps` and `docker inspect` show). */
  env: Record<string, string>;
  /** What its trimmed standard output is when the service accepts authenticated connections. */
  expect: string;
}

/** How one engine is run, reached and backed up: data and pure functions, no I/O. */
export interface ServiceEngine {
  name: ServiceType;
  /** The port its server listens on, in its container and on the service's network. */
  port: number;
  /** The configuration setting naming its image (`version` picks a tag of it). */
  imageSetting: string;
  /** The version recorded when the configured image's tag names none (`pier-local/postgres`). */
  defaultVersion: string;
  /** The versions `POST /services` accepts: tags of the configured image, so nothing but digits and dots. */
  versions: RegExp;
  /** The scheme of the URLs linked apps get. */
  urlScheme: string;
  /** The variable a link injects; a second service of the engine in one environment prefixes its name. */
  variable: string;
  /** The variables a link injects besides the URL, unprefixed, as the engine's usual clients read them (`PGHOST`…). */
  partVariables(endpoint: ServiceEndpoint): Record<string, string>;
  /** Names among `partVariables` whose value is the password (masked like the URL). */
  secretParts: readonly string[];
  /** A link's URL parameters its clients also read from a variable (`sslmode` → `PGSSLMODE`), injected besides. */
  paramVariables: Readonly<Record<string, string>>;
  /** Whether its server speaks TLS with a certificate of the installation's CA (plain connections still accepted). */
  tls: boolean;
  /** The user of a new service's credentials (the image's superuser). */
  superuser: string;
  /** The database of a new service named `serviceName` (the path of its URL). */
  database(serviceName: string): string;
  /** Where the image keeps its data: the service's volume is mounted there. */
  dataDirectory: string;
  /** Whether the service accepts authenticated connections over TCP, as apps on its network make them. */
  readinessProbe(credentials: ServiceCredentials): ReadinessProbe;
  /** How a backup is made and restored: the worker's strategy of this name, and its files' extension. */
  backup: { strategy: 'pg-dump' | 'redis-rdb'; fileExtension: string };
  /** Whether each linked environment gets a login role of its own; otherwise links share the superuser's URL. */
  linkRoles: boolean;
}

/** Versions such as `15`, `7.2` or `15.4.1`. */
const NUMERIC_VERSION = /^\d{1,3}(\.\d{1,3}){0,2}$/;

export const SERVICE_ENGINES: { readonly [T in ServiceType]: ServiceEngine & { name: T } } = {
  postgres: {
    name: 'postgres',
    port: 5432,
    imageSetting: 'PIER_IMAGE_POSTGRES',
    defaultVersion: '15',
    versions: NUMERIC_VERSION,
    urlScheme: 'postgres',
    variable: 'DATABASE_URL',
    // What libpq (psql, psycopg, node-postgres…) reads when no URL is given.
    partVariables: ({ host, credentials }) => ({
      PGHOST: host,
      PGPORT: '5432',
      PGUSER: credentials.user,
      PGPASSWORD: credentials.password,
      PGDATABASE: credentials.database,
    }),
    secretParts: ['PGPASSWORD'],
    paramVariables: { sslmode: 'PGSSLMODE' },
    tls: true,
    superuser: 'pier',
    // Service names are lowercase letters, digits and dashes: a plain identifier once dashes are underscores.
    database: (serviceName) => serviceName.replace(/-/g, '_'),
    dataDirectory: '/var/lib/postgresql/data',
    readinessProbe: (credentials) => ({
      command: [
        'psql',
        '-X',
        '-A',
        '-t',
        '-h',
        '127.0.0.1',
        '-U',
        credentials.user,
        '-d',
        credentials.database,
        '-c',
        'select 1',
      ],
      env: { PGPASSWORD: credentials.password, PGCONNECT_TIMEOUT: '3' },
      expect: '1',
    }),
    backup: { strategy: 'pg-dump', fileExtension: 'dump' },
    linkRoles: true,
  },
  redis: {
    name: 'redis',
    port: 6379,
    imageSetting: 'PIER_IMAGE_REDIS',
    defaultVersion: '7',
    versions: NUMERIC_VERSION,
    urlScheme: 'redis',
    variable: 'REDIS_URL',
    partVariables: ({ host, credentials }) => ({
      REDIS_HOST: host,
      REDIS_PORT: '6379',
      REDIS_PASSWORD: credentials.password,
    }),
    secretParts: ['REDIS_PASSWORD'],
    paramVariables: {},
    tls: false,
    superuser: 'default',
    database: () => '0',
    dataDirectory: '/data',
    readinessProbe: (credentials) => ({
      command: ['redis-cli', '-h', '127.0.0.1', '--no-auth-warning', 'PING'],
      env: { REDISCLI_AUTH: credentials.password },
      expect: 'PONG',
    }),
    backup: { strategy: 'redis-rdb', fileExtension: 'rdb' },
    linkRoles: false,
  },
};

export function isServiceType(type: string): type is ServiceType {
  return Object.hasOwn(SERVICE_ENGINES, type);
}

/** The engine of `type`; an unknown type is an error naming it, never another engine's behaviour. */
export function serviceEngine(type: string): ServiceEngine {
  if (!isServiceType(type)) {
    throw new RangeError(`unknown service type ${JSON.stringify(type)}; known types: ${SERVICE_TYPES.join(', ')}`);
  }
  return SERVICE_ENGINES[type];
}
