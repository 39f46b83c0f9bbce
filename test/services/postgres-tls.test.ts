import { X509Certificate } from 'node:crypto';
import { createStores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceContainerSpec } from '../../apps/worker/src/services/service-spec.ts';
import { createAuthority } from '../../apps/worker/src/services/service-tls.ts';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, getText, removeAppFromDocker, servingPorts, waitForDeployment } from '../support/deploy-app.ts';
import { removeServicesFromDocker, serviceReaches } from '../support/services.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * Managed Postgres speaks TLS with a certificate of the installation's CA,
 * and a linked app needs nothing but what Pier injects: an app built on
 * libpq (psql, in an image of the local Postgres one, behind a few lines of
 * Perl serving HTTP) connects with only the PG* variables, verifies the
 * server with `sslmode=verify-full` against the CA file Pier writes into it
 * (and fails against another CA), uses the `sslmode=require` its link adds to
 * DATABASE_URL, and still may connect in plain text. Unlinking removes every
 * variable and the file; a Postgres started without TLS is given it by the worker.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const run = Date.now().toString(36);
const app = `pgtls-${run}`;
const db = `tls-${run}`;
const base = `/apps/${app}/environments/staging`;

/**
 * The app: `/psql?via=env|url&mode=<PGSSLMODE>&root=other` runs psql (no shell)
 * as libpq sees the environment (or with DATABASE_URL), answering `exit=<code> <output>`;
 * `/env` lists the database variables it has, `/ca` compares the CA file with PIER_CA_CERT.
 */
const SERVER = `
use strict; use warnings; use IO::Socket::INET;
$SIG{TERM} = sub { exit 0 };
my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $ENV{PORT}, Listen => 16, ReuseAddr => 1) or die "listen: $!";
sub psql {
  my (%q) = @_;
  pipe(my $r, my $w) or die;
  my $pid = fork // die;
  if ($pid == 0) {
    close $r; open STDOUT, '>&', $w; open STDERR, '>&', $w;
    $ENV{PGSSLMODE} = $q{mode} if $q{mode};
    $ENV{PGSSLROOTCERT} = '/app/other-ca.crt' if ($q{root} // '') eq 'other';
    $ENV{PGCONNECT_TIMEOUT} = '5';
    my @target = ($q{via} // '') eq 'url' ? ('-d', $ENV{DATABASE_URL}) : ();
    # Link roles start as the owner role, which may not see their session's row: back to the login role first.
    exec 'psql', '-X', '-q', '-A', '-t', @target, '-c', 'set role none', '-c', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()';
    exit 127;
  }
  close $w; local $/; my $out = <$r> // ''; waitpid $pid, 0;
  return 'exit=' . ($? >> 8) . ' ' . $out;
}
sub answer {
  my ($path, %q) = @_;
  return 'ok' if $path eq '/health' || $path eq '/';
  return join(',', sort grep { /^(PG(HOST|PORT|USER|PASSWORD|DATABASE|SSLMODE|SSLROOTCERT)|DATABASE_URL|PIER_CA_CERT)$/ } keys %ENV) if $path eq '/env';
  if ($path eq '/ca') {
    open(my $f, '<', '/etc/pier/ca.crt') or return 'absent';
    local $/; my $pem = <$f>;
    return $pem eq ($ENV{PIER_CA_CERT} // '') ? 'same' : 'different';
  }
  return psql(%q) if $path eq '/psql';
  return 'not found';
}
while (my $client = $server->accept) {
  my $line = <$client> // '';
  while (my $header = <$client>) { last if $header =~ /^\\r?\\n$/ }
  my ($path, $query) = $line =~ m{^[A-Z]+ (/[^ ?]*)\\??(\\S*)} ? ($1, $2) : ('/', '');
  my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') } grep { length } split /&/, $query;
  my $body = answer($path, %q);
  print $client "HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n" . $body;
  close $client;
}
`;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 1000 });
  repo = new TestGitRepository();
  secret = await createFastApp(api, { name: app, fullName: 'acme/pgtls', cloneUrl: repo.url, replicas: 1, drainTimeoutMs: 500 });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) {
    await removeAppFromDocker(worker.docker, app);
    await removeServicesFromDocker(worker, [db]);
  }
  await api?.close();
  repo?.remove();
}, 120_000);

/** GET on the staging replica itself. */
async function ask(path: string): Promise<string> {
  const [port] = await servingPorts(api, app, 'staging');
  expect(port, 'a serving replica').toBeDefined();
  return getText(port as number, path);
}

async function deployed(res: { statusCode: number; body: string; json(): { deployment?: { id: string } | null } }) {
  expect(res.statusCode, res.body).toBeLessThan(300);
  const id = res.json().deployment?.id;
  expect(id).toBeDefined();
  const done = await waitForDeployment(api, id as string, ['live', 'failed'], 180_000);
  expect(done.reason).toBeNull();
}

/** The service's running container, as Docker has it. */
async function serviceContainer() {
  const [container] = await worker.docker.listContainers({ 'pier.service': db, 'pier.role': 'service' });
  expect(container, 'the service container').toBeDefined();
  return container as NonNullable<typeof container>;
}

describe('managed Postgres over TLS, and the variables apps expect', () => {
  let caPem = '';

  it('a new Postgres serves a certificate for its host name, signed by the installation’s CA kept sealed in Postgres', async () => {
    const created = await api.request({ method: 'POST', url: '/services', payload: { type: 'postgres', name: db } });
    expect(created.statusCode, created.body).toBe(202);
    await serviceReaches(api, db);
    const [row] = await api.database.sql<{ certificate_pem: string; key_ciphertext: string }[]>`
      select certificate_pem, key_ciphertext from certificate_authorities where name = 'services'`;
    expect(row, 'the CA').toBeDefined();
    caPem = row?.certificate_pem as string;
    expect(new X509Certificate(caPem).ca).toBe(true);
    expect(row?.key_ciphertext).not.toContain('PRIVATE KEY');
    const authority = await createStores(api.database.db, api.box).services.authority();
    expect(authority?.keyPem).toContain('BEGIN PRIVATE KEY');
    expect((await serviceContainer()).labels['pier.service-ca']).toMatch(/^[0-9a-f]{16}$/);
  }, 180_000);

  it('an app linked with sslmode=require connects over TLS with only PG* variables, verifying the CA Pier gives it', async () => {
    const other = await createAuthority('another CA');
    const sha = repo.commit(
      {
        Dockerfile:
          'FROM pier-local/postgres\nCOPY server.pl other-ca.crt /app/\nENTRYPOINT ["perl", "/app/server.pl"]\nCMD []\n',
        'server.pl': SERVER,
        'other-ca.crt': other.certificatePem,
      },
      'a libpq app',
    );
    repo.push();
    const push = await sendWebhook(api.app, {
      event: 'push',
      payload: pushPayload('acme/pgtls', 'refs/heads/main', sha),
      secret,
    });
    expect(push.statusCode, push.body).toBeLessThan(300);
    const built = await waitForDeployment(api, push.json().deployments[0].id, ['live', 'failed'], 240_000);
    expect(built.reason).toBeNull();
    expect(await ask('/env')).toBe('');

    const link = await api.request({
      method: 'POST',
      url: `${base}/links`,
      payload: { service: db, urlParams: { sslmode: 'require' } },
    });
    expect(link.json()).toMatchObject({
      variable: 'DATABASE_URL',
      variables: ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE'],
      urlParams: { sslmode: 'require' },
    });
    await deployed(link);
    expect(await ask('/env')).toBe(
      'DATABASE_URL,PGDATABASE,PGHOST,PGPASSWORD,PGPORT,PGSSLMODE,PGSSLROOTCERT,PGUSER,PIER_CA_CERT',
    );
    expect(await ask('/ca')).toBe('same');

    // libpq from the variables alone: PGSSLMODE=require with PGSSLROOTCERT checks the CA (as verify-ca does).
    expect(await ask('/psql?via=env')).toBe('exit=0 t\n');
    // Full verification, the host name included, against the CA file Pier wrote…
    expect(await ask('/psql?via=env&mode=verify-full')).toBe('exit=0 t\n');
    // …which really is checked: another CA is refused.
    const refused = await ask('/psql?via=env&mode=verify-full&root=other');
    expect(refused).toMatch(/^exit=2 /);
    expect(refused).toContain('certificate verify failed');
    // DATABASE_URL carries the link's sslmode=require, checked against the CA the same way.
    expect(await ask('/psql?via=url')).toBe('exit=0 t\n');
    expect(await ask('/psql?via=url&root=other')).toContain('certificate verify failed');
    // Plain connections are still accepted.
    expect(await ask('/psql?via=env&mode=disable')).toBe('exit=0 f\n');

    const links = (await api.request({ method: 'GET', url: `${base}/links` })).json().links;
    expect(links).toMatchObject([{ service: db, urlParams: { sslmode: 'require' } }]);
    const injected = await createStores(api.database.db, api.box).services.injection(await envId());
    const password = injected.variables.PGPASSWORD as string;
    expect(password.length).toBeGreaterThan(20);
    expect(JSON.stringify(links)).not.toContain(password);
    expect(worker.logs.join('\n')).not.toContain(password);
    expect(worker.logs.join('\n')).not.toContain('PRIVATE KEY');
  }, 420_000);

  it('a variable named like one the link injects is refused, naming it', async () => {
    const res = await api.request({ method: 'PATCH', url: `${base}/variables`, payload: { set: { PGHOST: 'elsewhere' } } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.message).toContain('set.PGHOST: PGHOST is injected by the linked service');
    const ca = await api.request({ method: 'PATCH', url: `${base}/variables`, payload: { set: { PGSSLROOTCERT: '/x' } } });
    expect(ca.statusCode, ca.body).toBe(422);
  });

  it('a Postgres started without TLS (before this version) is started anew with it by the worker', async () => {
    const operator = worker.runtime.serviceOperator;
    await operator.stop();
    const stores = createStores(api.database.db, api.box);
    const service = await stores.services.get(db);
    const old = await serviceContainer();
    await worker.docker.stopContainer(old.id, 30);
    await worker.docker.removeContainer(old.id);
    // What the worker of the previous version started: no certificate, no label.
    const plain = await worker.docker.runContainer(
      serviceContainerSpec(service, stores.services.credentials(service), worker.prefix),
    );
    await api.database.sql`update managed_services set container_id = ${plain.id} where id = ${service.id}`;
    await operator.start();
    await expect
      .poll(async () => (await serviceContainer().catch(() => null))?.labels['pier.service-ca'] ?? null, {
        timeout: 90_000,
        interval: 500,
      })
      .toMatch(/^[0-9a-f]{16}$/);
    await serviceReaches(api, db);
    await expect
      .poll(() => ask('/psql?via=env&mode=verify-full').catch((e: Error) => e.message), { timeout: 60_000 })
      .toBe('exit=0 t\n');
    expect(worker.logs.join('\n')).toContain('starting a new one with TLS');
  }, 240_000);

  it('unlinking removes every variable and the CA file', async () => {
    const res = await api.request({ method: 'DELETE', url: `${base}/links/${db}` });
    await deployed(res);
    expect(await ask('/env')).toBe('');
    expect(await ask('/ca')).toBe('absent');
  }, 240_000);
});

async function envId(): Promise<string> {
  const [row] = await api.database.sql<{ id: string }[]>`
    select e.id from environments e join apps a on a.id = e.app_id where a.name = ${app} and e.name = 'staging'`;
  return row?.id as string;
}
