import { describe, expect, it } from 'vitest';
import { injectedVariableKey } from './environment-defaults.ts';
import { connectionUrl, serviceImage } from './managed-service.ts';
import { isServiceType, SERVICE_ENGINES, SERVICE_TYPES, serviceEngine } from './service-engines.ts';

const credentials = { user: 'u', password: 'p@ss:w/rd', database: 'd' };

describe('SERVICE_ENGINES', () => {
  it.each([
    ['postgres', 5432, 'PIER_IMAGE_POSTGRES', '15', 'DATABASE_URL', '/var/lib/postgresql/data', 'pg-dump', 'dump', true],
    ['redis', 6379, 'PIER_IMAGE_REDIS', '7', 'REDIS_URL', '/data', 'redis-rdb', 'rdb', false],
  ] as const)(
    '%s: port %i, image %s, version %s, injects %s, data in %s, backups by %s (.%s), link roles %s',
    (type, port, imageSetting, defaultVersion, variable, dataDirectory, strategy, fileExtension, linkRoles) => {
      expect(serviceEngine(type)).toMatchObject({
        name: type,
        port,
        imageSetting,
        defaultVersion,
        variable,
        dataDirectory,
        backup: { strategy, fileExtension },
        linkRoles,
      });
    },
  );

  it.each(SERVICE_TYPES)('%s: its part variables give the port it listens on, and the password only as a secret part', (type) => {
    const engine = serviceEngine(type);
    const parts = engine.partVariables({ host: 'pier-svc-x', credentials });
    expect(Object.values(parts)).toContain(String(engine.port));
    expect(Object.values(parts)).toContain('pier-svc-x');
    const holdingPassword = Object.entries(parts).filter(([, value]) => value === credentials.password);
    expect(holdingPassword.map(([name]) => name)).toEqual([...engine.secretParts]);
  });

  it('has one entry per type, each under its own name', () => {
    expect(Object.keys(SERVICE_ENGINES).sort()).toEqual([...SERVICE_TYPES].sort());
    for (const type of SERVICE_TYPES) expect(SERVICE_ENGINES[type].name).toBe(type);
  });

  it.each([
    ['postgres', 'orders-db', 'pier', 'orders_db', 'postgres://pier:pw@pier-svc-orders-db:5432/orders_db'],
    ['redis', 'cache', 'default', '0', 'redis://default:pw@pier-svc-cache:6379/0'],
  ] as const)('%s service %s: superuser %s, database %s, URL %s', (type, name, user, database, url) => {
    const engine = serviceEngine(type);
    expect([engine.superuser, engine.database(name)]).toEqual([user, database]);
    expect(connectionUrl(type, `pier-svc-${name}`, { user, password: 'pw', database })).toBe(url);
  });

  it.each([
    ['postgres', ['psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-U', 'u', '-d', 'd', '-c', 'select 1'], 'PGPASSWORD', '1'],
    ['redis', ['redis-cli', '-h', '127.0.0.1', '--no-auth-warning', 'PING'], 'REDISCLI_AUTH', 'PONG'],
  ] as const)('%s readiness: %j, the password in %s only, expecting %s', (type, command, passwordVariable, expected) => {
    const probe = serviceEngine(type).readinessProbe(credentials);
    expect(probe.command).toEqual(command);
    expect(probe.env[passwordVariable]).toBe(credentials.password);
    expect(probe.command.join(' ')).not.toContain(credentials.password);
    expect(probe.expect).toBe(expected);
  });

  it.each([
    ['postgres', 'orders', true, 'DATABASE_URL'],
    ['postgres', 'orders-archive', false, 'ORDERS_ARCHIVE_DATABASE_URL'],
    ['redis', 'cache', true, 'REDIS_URL'],
    ['redis', 'sessions', false, 'SESSIONS_REDIS_URL'],
  ] as const)('a %s link to %s (primary: %s) injects %s', (type, name, primary, variable) => {
    expect(injectedVariableKey(type, name, primary)).toBe(variable);
  });

  it.each(SERVICE_TYPES)('a %s image without a version tag records its default version', (type) => {
    expect(serviceImage(type, `pier-local/${type}`).version).toBe(serviceEngine(type).defaultVersion);
  });
});

describe('serviceEngine of an unknown type', () => {
  it.each(['mysql', '', 'Postgres', 'constructor', '__proto__', 'toString'])('%j fails loudly, naming the type', (type) => {
    expect(isServiceType(type)).toBe(false);
    expect(() => serviceEngine(type)).toThrow(RangeError);
    expect(() => serviceEngine(type)).toThrow(`unknown service type ${JSON.stringify(type)}; known types: postgres, redis`);
  });

  it('is never taken for the last engine of the table (what a two-way branch did)', () => {
    expect(() => connectionUrl('mysql' as never, 'pier-svc-x', credentials)).toThrow(/unknown service type "mysql"/);
    expect(() => injectedVariableKey('mysql' as never, 'x', true)).toThrow(/unknown service type "mysql"/);
  });
});
