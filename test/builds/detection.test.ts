import { randomBytes } from 'node:crypto';
import { LABEL_APP, LABEL_COMMIT } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestFile } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';
import {
  answerOf,
  BUILD_OVER,
  BuildTestApps,
  buildLog,
  type DeploymentView,
  expectBuilt,
  pushAndWait,
  startBuildWorker,
  waitForState,
} from './build-harness.ts';

/**
 * One real image per detection path (issue 3): the repository's Dockerfile, a
 * configured Dockerfile path, Node, Python, a Procfile alone, and nothing to
 * build. The generated images are run once each and must answer HTTP.
 */

const run = randomBytes(3).toString('hex');
let api: TestApi;
let worker: TestWorker;
const testApps = new BuildTestApps(`det-${run}`);

beforeAll(async () => {
  api = await createTestApi();
  worker = await startBuildWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  if (worker) await testApps.remove(worker.docker);
  await api?.close();
});

interface Built {
  app: string;
  sha: string;
  deployment: DeploymentView;
  log: string;
}

/** A new app whose repository holds `files`; pushes them and waits until the build is over. */
async function pushApp(
  kind: string,
  files: Record<string, TestFile>,
  configure?: (app: string) => Promise<void>,
): Promise<Built> {
  const app = await testApps.create(api, kind, configure);
  const { sha, deployment, log } = await pushAndWait(api, app, files, { message: `${kind} app`, timeoutMs: 150_000 });
  return { app: app.name, sha, deployment, log };
}

/** Asserts the build succeeded and its image is tagged and labelled for the app and commit. */
async function expectImage(built: Built): Promise<string> {
  const { app, sha, deployment } = built;
  expect(deployment.reason, built.log).toBeNull();
  expect(deployment.state).toBe('deploying');
  expectBuilt(deployment, `pier/${app}:${sha}`);
  const images = await worker.docker.listImages({ [LABEL_APP]: app, [LABEL_COMMIT]: sha });
  expect(images.map((i) => i.imageId)).toEqual([deployment.image?.id]);
  expect(images[0]?.tags).toContain(`pier/${app}:${sha}`);
  return deployment.image?.id ?? '';
}

const NODE_SERVER =
  "require('node:http').createServer((req, res) => res.end('hello from node on ' + process.env.PORT)).listen(Number(process.env.PORT));\n";

const PYTHON_APP = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from python"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()
`;

// The Procfile image (pier-local/debian:bookworm) has Perl, so a Procfile app can serve HTTP without a runtime image.
const PERL_SERVER = `use strict; use warnings; use IO::Socket::INET;
my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $ENV{PORT}, Listen => 5, ReuseAddr => 1) or die "listen: $!";
while (my $client = $server->accept) {
  while (my $line = <$client>) { last if $line =~ /^\\r?\\n$/; }
  my $body = 'hello from a Procfile app';
  print $client "HTTP/1.1 200 OK\\r\\nContent-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n$body";
  close $client;
}
`;

describe('detection: one real image per path', () => {
  it('builds with the repository Dockerfile, which wins over package.json', async () => {
    const built = await pushApp('docker', {
      Dockerfile: `FROM pier-local/debian:bookworm\nCOPY hello.txt /srv/hello.txt\nRUN echo root-dockerfile-${run} && cat /srv/hello.txt\n`,
      'hello.txt': `context-file-${run}\n`,
      'package.json': JSON.stringify({ name: 'ignored', version: '1.0.0', scripts: { start: 'node nothing.js' } }),
    });
    await expectImage(built);
    expect(built.log).toContain('building with Dockerfile');
    expect(built.log).toContain(`root-dockerfile-${run}`);
    expect(built.log).toContain(`context-file-${run}`);
    expect(built.log).not.toContain('building as a node app');
  }, 180_000);

  it('builds with a configured Dockerfile path (PATCH /apps/:app dockerfilePath), not the root Dockerfile', async () => {
    const built = await pushApp(
      'custom',
      {
        Dockerfile: 'FROM pier-local/debian:bookworm\nRUN echo wrong-dockerfile && exit 1\n',
        'docker/Dockerfile.prod': `FROM pier-local/debian:bookworm\nCOPY hello.txt /srv/hello.txt\nRUN echo prod-dockerfile-${run} && cat /srv/hello.txt\n`,
        'hello.txt': `context-is-the-repository-root-${run}\n`,
      },
      async (app) => {
        const res = await api.request({
          method: 'PATCH',
          url: `/apps/${app}`,
          payload: { dockerfilePath: 'docker/Dockerfile.prod' },
        });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().dockerfilePath).toBe('docker/Dockerfile.prod');
      },
    );
    await expectImage(built);
    expect(built.log).toContain('building with docker/Dockerfile.prod');
    expect(built.log).toContain(`prod-dockerfile-${run}`);
    expect(built.log).toContain(`context-is-the-repository-root-${run}`);
    expect(built.log).not.toContain('wrong-dockerfile');
  }, 180_000);

  let nodeApp: Built;

  it('builds a Node app (package.json + package-lock.json: npm ci, npm start) that answers HTTP', async () => {
    const name = `node-app-${run}`;
    nodeApp = await pushApp('node', {
      'package.json': JSON.stringify({ name, version: '1.0.0', private: true, scripts: { start: 'node server.js' } }),
      'package-lock.json': JSON.stringify({
        name,
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: { '': { name, version: '1.0.0' } },
      }),
      'server.js': NODE_SERVER,
      // Node comes before Python in the detection order.
      'requirements.txt': '',
    });
    const image = await expectImage(nodeApp);
    expect(nodeApp.log).toContain('no Dockerfile: building as a node app');
    expect(nodeApp.log).toContain('started by the package.json start script');
    expect(nodeApp.log).toMatch(/^Step \d+\/\d+ : FROM pier-local\/node$/m);
    expect(nodeApp.log).toMatch(/^Step \d+\/\d+ : RUN npm ci\b/m);
    expect(await answerOf(worker.docker, image, nodeApp.app, 3000)).toBe('hello from node on 3000');
  }, 180_000);

  it('a rebuild of the same commit (manual deploy) reuses the layer cache', async () => {
    expect(nodeApp, 'needs the Node app built above').toBeDefined();
    const res = await api.request({
      method: 'POST',
      url: `/apps/${nodeApp.app}/environments/staging/deployments`,
      payload: { commit: nodeApp.sha },
    });
    expect(res.statusCode, res.body).toBe(202);
    const again = await waitForState(api, res.json().id, BUILD_OVER, 150_000);
    const log = await buildLog(api, again.id);
    expect(again.reason, log).toBeNull();
    expect(again.state).toBe('deploying');
    expectBuilt(again, `pier/${nodeApp.app}:${nodeApp.sha}`);
    // The install step is the expensive one: it must come from the cache.
    expect(log).toMatch(/^Step \d+\/\d+ : RUN npm ci\b.*\n ---> Using cache$/m);
    const seconds = (d: DeploymentView) => (Date.parse(d.buildFinishedAt ?? '') - Date.parse(d.buildStartedAt ?? '')) / 1000;
    expect(seconds(again)).toBeLessThan(seconds(nodeApp.deployment));
  }, 180_000);

  it('builds a Python app (empty requirements.txt, Procfile web: python app.py) that answers HTTP', async () => {
    const built = await pushApp('python', {
      'requirements.txt': '',
      Procfile: 'web: python app.py\n',
      'app.py': PYTHON_APP,
    });
    const image = await expectImage(built);
    expect(built.log).toContain('no Dockerfile: building as a python app');
    expect(built.log).toMatch(/^Step \d+\/\d+ : FROM pier-local\/python$/m);
    expect(built.log).toContain('pip install --no-cache-dir -r requirements.txt');
    expect(await answerOf(worker.docker, image, built.app)).toBe('hello from python');
  }, 180_000);

  it('builds a Procfile-only app on the configured base image (pier-local/debian:bookworm) that answers HTTP', async () => {
    const built = await pushApp('procfile', { Procfile: 'web: perl server.pl\n', 'server.pl': PERL_SERVER });
    const image = await expectImage(built);
    expect(built.log).toContain('no Dockerfile: building as a procfile app');
    expect(built.log).toMatch(/^Step \d+\/\d+ : FROM pier-local\/debian:bookworm$/m);
    const base = await worker.docker.docker.getImage('pier-local/debian:bookworm').inspect();
    const layers = (await worker.docker.docker.getImage(image).inspect()).RootFS.Layers ?? [];
    expect(layers.slice(0, base.RootFS.Layers?.length)).toEqual(base.RootFS.Layers);
    expect(await answerOf(worker.docker, image, built.app)).toBe('hello from a Procfile app');
  }, 180_000);

  it('fails a repository with nothing to build, saying what it looked for, and builds no image', async () => {
    const built = await pushApp('none', {
      'README.md': '# nothing to build here\n',
      'src/main.c': 'int main(void) { return 0; }\n',
    });
    expect(built.deployment.state).toBe('failed');
    expect(built.deployment.reason).toContain('no Dockerfile, package.json, requirements.txt or Procfile found');
    expect(built.deployment.image).toBeNull();
    expect(await worker.docker.listImages({ [LABEL_APP]: built.app })).toEqual([]);
  }, 60_000);
});
