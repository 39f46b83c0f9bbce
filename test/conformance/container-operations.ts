import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type ContainerInfo,
  type ContainerOperations,
  type ContainerSpec,
  LABEL_APP,
  LABEL_ROLE,
  type LogEntry,
  type LogOptions,
  NotFoundError,
  ValidationError,
} from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** What the engine really applied to a container: settings the port cannot show. */
export interface AppliedSettings {
  /** HostIp of every port binding, as configured and as bound. */
  publishedHostIps: string[];
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
  init: boolean;
}

export interface ContainerOperationsConformanceOptions {
  /** An image with `node` on its PATH; it must exist locally. Default `pier-local/node:latest`. */
  nodeImage?: string;
  /** Reads back what the engine applied to a container. Omit for a runtime without one; those checks are skipped. */
  applied?: (id: string) => Promise<AppliedSettings>;
  /** How many networks carry this exact name. Omit to skip the check for duplicates. */
  networkCount?: (name: string) => Promise<number>;
}

const MiB = 1024 * 1024;
/** Per test: the tests run concurrently, so each waits for the others' containers too. */
const SLOW = 45_000;
const LIMITS = { memoryBytes: 128 * MiB, nanoCpus: 500_000_000, pids: 64 };
/** A server answering every request with $GREETING, on $PORT. */
const GREETER = "require('http').createServer((q,s)=>s.end(process.env.GREETING)).listen(process.env.PORT)";
/** Connects to argv[1]:argv[2]; prints `connected` (exit 0) or why not (exit 1) within 1.5 s. */
const CONNECT = `const s=require('net').connect(Number(process.argv[2]),process.argv[1]);s.setTimeout(1500,()=>{console.log('timeout');process.exit(1)});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)})`;
/** GETs http://argv[1]:argv[2]/ and prints the body. */
const GET = `require('http').get('http://'+process.argv[1]+':'+process.argv[2]+'/',r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log('body:'+b);process.exit(0)})}).on('error',e=>{console.log(e.code);process.exit(1)})`;
/** Prints each argument after a pause, to stdout or stderr by its `out:`/`err:` prefix, then exits. */
const SPEAK = `const a=process.argv.slice(1);let i=0;const t=setInterval(()=>{const x=a[i++];if(x===undefined){clearInterval(t);return}const [s,...r]=x.split(':');(s==='err'?process.stderr:process.stdout).write(r.join(':')+'\\n')},Number(process.env.GAP_MS||30))`;

/**
 * The contract of the ContainerOperations port (packages/core/src/ports/container-runtime.ts), run against any
 * implementation. Everything it creates carries `pier.app=pier-ops-<random>` and `pier.test=1` and is removed afterwards.
 */
export function describeContainerOperationsConformance(
  name: string,
  make: () => ContainerOperations | Promise<ContainerOperations>,
  options: ContainerOperationsConformanceOptions = {},
): void {
  const image = options.nodeImage ?? 'pier-local/node:latest';
  const run = randomBytes(4).toString('hex');
  const app = `pier-ops-${run}`;
  const labels = { [LABEL_APP]: app, 'pier.test': '1' };
  const networks = { a: `${app}-a`, b: `${app}-b`, c: `${app}-c`, d: `${app}-d`, e: `${app}-e` };
  const greeting = `hello-${run}`;
  let ops: ContainerOperations;
  let count = 0;
  let server: Promise<ContainerInfo> | undefined;
  const serverName = `${app}-server`;

  function spec(role: string, command: string[], overrides: Partial<ContainerSpec> = {}): ContainerSpec {
    count++;
    return {
      name: `${app}-${role}-${count}`,
      image,
      env: {},
      labels: { ...labels, [LABEL_ROLE]: role },
      containerPort: null,
      networks: [networks.a],
      limits: LIMITS,
      command,
      ...overrides,
    };
  }

  /** The greeter: on networks a (at creation) and b (connected after), alias `greeter`, port 8080 published. */
  function greeterServer(): Promise<ContainerInfo> {
    server ??= ops.runContainer(
      spec('server', ['node', '-e', GREETER], {
        name: serverName,
        env: { PORT: '8080', GREETING: greeting },
        containerPort: 8080,
        networks: [networks.a, networks.b],
        aliases: ['greeter'],
      }),
    );
    return server;
  }

  async function logs(id: string, logOptions: LogOptions = {}): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const entry of ops.containerLogs(id, logOptions)) entries.push(entry);
    return entries;
  }

  async function exited(id: string): Promise<ContainerInfo> {
    return eventually(async () => {
      const info = await ops.inspectContainer(id);
      if (info?.status !== 'exited') throw new Error(`container ${id} is ${info?.status ?? 'gone'}`);
      return info;
    }, 20_000);
  }

  /** Runs a one-shot container to its end: its info and output. */
  async function runToEnd(containerSpec: ContainerSpec): Promise<{ info: ContainerInfo; lines: string[] }> {
    const started = await ops.runContainer(containerSpec);
    const info = await exited(started.id);
    return { info, lines: (await logs(started.id)).map((entry) => entry.line) };
  }

  // Concurrent: the tests share nothing but the greeter, and each mostly waits for containers to start.
  describe.concurrent(`ContainerOperations conformance: ${name}`, () => {
    beforeAll(async () => {
      ops = await make();
      await Promise.all([
        ops.ensureNetwork(networks.a, labels),
        ops.ensureNetwork(networks.b, labels),
        ops.ensureNetwork(networks.c, labels),
      ]);
    });

    afterAll(async () => {
      if (!ops) return;
      for (const container of await ops.listContainers(labels)) await ops.removeContainer(container.id);
      for (const network of Object.values(networks)) await ops.removeNetwork(network);
    });

    it(
      'runs a container: it answers on 127.0.0.1 at the host port, with its name, labels and env',
      async () => {
        const info = await greeterServer();
        expect(info).toMatchObject({
          id: expect.stringMatching(/^[0-9a-f]{64}$/),
          name: serverName,
          imageId: expect.stringMatching(/^sha256:/),
          labels: expect.objectContaining({ ...labels, [LABEL_ROLE]: 'server' }),
          status: 'running',
          exitCode: null,
          finishedAt: null,
          hostPort: expect.any(Number),
        });
        expect(Math.abs((info.startedAt?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
        expect(Object.keys(info.networks).sort()).toEqual([networks.a, networks.b]);
        const url = `http://127.0.0.1:${info.hostPort}/`;
        const body = await eventually(async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text());
        expect(body).toBe(greeting);
      },
      SLOW,
    );

    it('publishes on 127.0.0.1 only, with the limits set and an init process', async (context) => {
      if (!options.applied) context.skip();
      const applied = await options.applied?.((await greeterServer()).id);
      expect(applied?.publishedHostIps.length).toBeGreaterThan(0);
      expect(new Set(applied?.publishedHostIps)).toEqual(new Set(['127.0.0.1']));
      expect(applied).toMatchObject({
        memoryBytes: LIMITS.memoryBytes,
        nanoCpus: LIMITS.nanoCpus,
        pids: LIMITS.pids,
        init: true,
      });
    });

    it('inspects a container and lists containers by label', async () => {
      const info = await greeterServer();
      expect(await ops.inspectContainer(info.id)).toMatchObject({ id: info.id, name: info.name, status: 'running' });
      expect((await ops.listContainers({ ...labels, [LABEL_ROLE]: 'server' })).map((c) => c.id)).toEqual([info.id]);
      expect(await ops.listContainers({ ...labels, [LABEL_ROLE]: 'nobody' })).toEqual([]);
      expect(await ops.inspectContainer('0123456789ab0123456789ab')).toBeNull();
    });

    it(
      'stops with a grace period: SIGTERM handled → exit 0 at once; SIGTERM ignored → killed after the grace',
      async () => {
        const program = (onTerm: string): string[] => [
          'node',
          '-e',
          `process.on('SIGTERM',()=>{${onTerm}});setInterval(()=>{},1000);console.log('ready')`,
        ];
        const [handles, ignores] = await Promise.all([
          ops.runContainer(spec('handles-term', program("console.log('bye');process.exit(0)"))),
          ops.runContainer(spec('ignores-term', program(''))),
        ]);
        await Promise.all(
          [handles, ignores].map((c) => eventually(async () => expect((await logs(c.id)).map((e) => e.line)).toContain('ready'))),
        );
        const timed = async (id: string, grace: number): Promise<number> => {
          const started = Date.now();
          await ops.stopContainer(id, grace);
          return Date.now() - started;
        };
        const [handledMs, ignoredMs] = await Promise.all([timed(handles.id, 20), timed(ignores.id, 2)]);
        expect(handledMs).toBeLessThan(5_000);
        expect(ignoredMs).toBeGreaterThanOrEqual(1_900);
        expect(ignoredMs).toBeLessThan(10_000);
        expect(await ops.inspectContainer(handles.id)).toMatchObject({ status: 'exited', exitCode: 0, hostPort: null });
        expect((await ops.inspectContainer(ignores.id))?.exitCode).toBe(137);
        expect((await logs(handles.id)).map((e) => e.line)).toContain('bye');
        await expect(ops.stopContainer(handles.id, 1)).resolves.toBeUndefined();
        await expect(ops.stopContainer('0123456789ab0123456789ab', 1)).resolves.toBeUndefined();
      },
      SLOW,
    );

    it(
      'shows a crashed container as exited with its exit code',
      async () => {
        const { info } = await runToEnd(spec('crash', ['node', '-e', 'process.exit(3)']));
        expect(info).toMatchObject({ status: 'exited', exitCode: 3, hostPort: null });
        expect(info.finishedAt?.getTime()).toBeGreaterThanOrEqual(info.startedAt?.getTime() ?? Number.POSITIVE_INFINITY);
      },
      SLOW,
    );

    it(
      'removes a running container: inspect gives null, it is not listed, removing again is fine',
      async () => {
        const info = await ops.runContainer(spec('removed', ['node', '-e', 'setInterval(()=>{},1000)']));
        await ops.removeContainer(info.id);
        expect(await ops.inspectContainer(info.id)).toBeNull();
        expect((await ops.listContainers(labels)).map((c) => c.id)).not.toContain(info.id);
        await expect(ops.removeContainer(info.id)).resolves.toBeUndefined();
      },
      SLOW,
    );

    it(
      'reads logs: stdout and stderr tagged, each in order, timed; long lines whole; tail and since',
      async () => {
        const long = 'x'.repeat(40_000);
        const { info } = await runToEnd(
          spec('logs', ['node', '-e', SPEAK, `out:${long}`, 'out:one', 'err:two', 'out:three', 'err:four']),
        );
        const entries = await logs(info.id);
        // The two streams are copied separately: order holds within each, not across them.
        const lines = (stream: string, list: LogEntry[]): string[] => list.filter((e) => e.stream === stream).map((e) => e.line);
        expect(lines('stdout', entries)).toEqual([long, 'one', 'three']);
        expect(lines('stderr', entries)).toEqual(['two', 'four']);
        for (const entry of entries) expect(Math.abs((entry.at?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
        expect(await logs(info.id, { tail: 2 })).toEqual(entries.slice(-2));
        expect(await logs(info.id, { tail: 0 })).toEqual([]);
        const three = entries.find((entry) => entry.line === 'three')?.at ?? new Date();
        // Polled: now and then (one run in many, under load) the Engine answered a first `since` with every line.
        await expect
          .poll(async () => lines('stdout', await logs(info.id, { since: three })), { timeout: 5_000, interval: 250 })
          .toEqual(['three']);
      },
      SLOW,
    );

    it(
      'follows logs as they are written and ends when the container stops',
      async () => {
        const ticks = ['out:tick-1', 'out:tick-2', 'out:tick-3', 'out:tick-4', 'out:tick-5'];
        // 400 ms apart (1.6 s from first to last): under load the follow may start a few lines late.
        const info = await ops.runContainer(spec('follow', ['node', '-e', SPEAK, ...ticks], { env: { GAP_MS: '400' } }));
        const received: { line: string; ms: number }[] = [];
        const started = Date.now();
        for await (const entry of ops.containerLogs(info.id, { follow: true }))
          received.push({ line: entry.line, ms: Date.now() - started });
        const ended = Date.now() - started;
        expect(received.map((r) => r.line)).toEqual(ticks.map((tick) => tick.split(':')[1]));
        // Streamed, not collected at the end: the first line came a good while before the last.
        expect((received[4]?.ms ?? 0) - (received[0]?.ms ?? 0)).toBeGreaterThan(600);
        expect(ended).toBeLessThan(10_000);
        expect((await ops.inspectContainer(info.id))?.status).toBe('exited');
      },
      SLOW,
    );

    it('stops following logs when the signal aborts', async () => {
      const info = await greeterServer();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const started = Date.now();
      await logs(info.id, { follow: true, signal: controller.signal });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await logs(info.id, { follow: true, signal: AbortSignal.abort() })).toEqual([]);
    });

    it(
      'connects networks: containers reach each other by alias on each; one on another network cannot',
      async () => {
        const info = await greeterServer();
        const address = info.networks[networks.a] ?? 'missing';
        const [onA, onB, byAlias, byAddress] = await Promise.all([
          runToEnd(spec('client-a', ['node', '-e', GET, 'greeter', '8080'], { networks: [networks.a] })),
          runToEnd(spec('client-b', ['node', '-e', GET, 'greeter', '8080'], { networks: [networks.b] })),
          runToEnd(spec('outsider', ['node', '-e', CONNECT, 'greeter', '8080'], { networks: [networks.c] })),
          runToEnd(spec('outsider', ['node', '-e', CONNECT, address, '8080'], { networks: [networks.c] })),
        ]);
        expect(onA.lines).toEqual([`body:${greeting}`]);
        expect(onB.lines).toEqual([`body:${greeting}`]);
        expect(byAlias.info.exitCode).toBe(1);
        expect(byAlias.lines).not.toContain('connected');
        expect(byAddress.info.exitCode).toBe(1);
        expect(byAddress.lines).not.toContain('connected');
      },
      SLOW,
    );

    it('ensures a network once, also when asked concurrently, and removes it', async () => {
      await ops.ensureNetwork(networks.a, labels);
      await Promise.all([1, 2, 3, 4].map(() => ops.ensureNetwork(networks.d, labels)));
      await ops.ensureNetwork(networks.d, labels);
      if (options.networkCount) expect(await options.networkCount(networks.d)).toBe(1);
      await ops.removeNetwork(networks.d);
      if (options.networkCount) expect(await options.networkCount(networks.d)).toBe(0);
      await expect(ops.removeNetwork(networks.d)).resolves.toBeUndefined();
    });

    // Its own network: the tests of this suite run concurrently, and the one above removes `d`.
    it('lists its networks by label, with the containers attached', async () => {
      await ops.ensureNetwork(networks.e, { ...labels, 'pier.test.kind': 'listed' });
      const sleeper = await ops.runContainer(
        spec('listed', ['node', '-e', 'setInterval(()=>{},1000)'], { networks: [networks.e] }),
      );
      const listed = await ops.listNetworks({ ...labels, 'pier.test.kind': 'listed' });
      expect(listed).toEqual([
        { name: networks.e, labels: { ...labels, 'pier.test.kind': 'listed' }, createdAt: expect.any(Date), containers: 1 },
      ]);
      expect(Date.now() - (listed[0]?.createdAt.getTime() ?? 0)).toBeLessThan(5 * 60_000);
      await ops.removeContainer(sleeper.id);
      expect((await ops.listNetworks({ ...labels, 'pier.test.kind': 'listed' }))[0]?.containers).toBe(0);
      expect(await ops.listNetworks({ ...labels, 'pier.test.kind': 'other' })).toEqual([]);
      await ops.removeNetwork(networks.e);
      expect(await ops.listNetworks({ ...labels, 'pier.test.kind': 'listed' })).toEqual([]);
    });

    it(
      'execs an argument array: collects stdout and the exit code, streams stdin in and stdout out, passes env',
      async () => {
        const sleeper = await ops.runContainer(spec('exec', ['node', '-e', 'setInterval(()=>{},1000)']));
        const echoed = await ops.exec(sleeper.id, ['node', '-e', 'console.log(process.argv[1]); process.exit(4)', 'a b;$(x)']);
        expect(echoed).toMatchObject({ exitCode: 4, stdout: 'a b;$(x)\n' });
        const secret = `s3cr=t&${run}`;
        const withEnv = await ops.exec(sleeper.id, ['node', '-e', 'console.error(process.env.SECRET)'], {
          env: { SECRET: secret },
        });
        expect(withEnv).toMatchObject({ exitCode: 0, stdout: '' });
        expect(withEnv.stderr.trim()).toBe(secret);
        // stdin streamed in (more than a pipe buffer), stdout streamed out to a writable.
        const { PassThrough } = await import('node:stream');
        const out = new PassThrough();
        const received: Buffer[] = [];
        out.on('data', (chunk: Buffer) => received.push(chunk));
        const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`);
        async function* input() {
          for (let i = 0; i < lines.length; i += 1000) yield lines.slice(i, i + 1000).join('');
        }
        const catted = await ops.exec(sleeper.id, ['cat'], { stdin: input(), stdout: out });
        expect(catted.exitCode).toBe(0);
        expect(Buffer.concat(received).toString()).toBe(lines.join(''));
        await expect(ops.exec(`pier-ops-missing-${run}`, ['true'])).rejects.toBeInstanceOf(NotFoundError);
      },
      SLOW,
    );

    it(
      'ensures a labelled volume once, keeps its data across containers, and removes it',
      async () => {
        const volume = `${app}-vol`;
        await ops.ensureVolume(volume, labels);
        await ops.ensureVolume(volume, labels);
        const write = spec('vol-write', ['node', '-e', "require('fs').writeFileSync('/data/x', 'kept')"], {
          volumes: { [volume]: '/data' },
        });
        await runToEnd(write);
        const read = await runToEnd(
          spec('vol-read', ['node', '-e', "console.log(require('fs').readFileSync('/data/x','utf8'))"], {
            volumes: { [volume]: '/data' },
          }),
        );
        expect(read.lines).toEqual(['kept']);
        await expect(ops.removeVolume(volume)).rejects.toBeInstanceOf(ConflictError); // still used by the stopped containers
        for (const c of await ops.listContainers({ ...labels })) if (c.name.includes('-vol-')) await ops.removeContainer(c.id);
        await ops.removeVolume(volume);
        await expect(ops.removeVolume(volume)).resolves.toBeUndefined();
        await expect(ops.ensureVolume(volume, { 'pier.test': '1' })).rejects.toBeInstanceOf(ValidationError);
      },
      SLOW,
    );

    it(
      'mounts the volumes named in readOnlyVolumes read-only',
      async () => {
        const volume = `${app}-ro`;
        await ops.ensureVolume(volume, labels);
        // (Role names without "-vol-": the volume test beside it removes such containers.)
        const tryWrite = "try{require('fs').writeFileSync('/data/x','no');console.log('written')}catch(e){console.log(e.code)}";
        const mount = { volumes: { [volume]: '/data' } };
        const readOnly = await runToEnd(spec('ro-mount', ['node', '-e', tryWrite], { ...mount, readOnlyVolumes: [volume] }));
        expect(readOnly.lines).toEqual(['EROFS']);
        const writable = await runToEnd(spec('rw-mount', ['node', '-e', tryWrite], mount));
        expect(writable.lines).toEqual(['written']);
        for (const { info } of [readOnly, writable]) await ops.removeContainer(info.id);
        await ops.removeVolume(volume);
      },
      SLOW,
    );

    it(
      'writes its files before the process starts, in its filesystem and in a fresh volume, with their modes',
      async () => {
        const volume = `${app}-files`;
        await ops.ensureVolume(volume, labels);
        const secret = `requirepass "s3cr@t:${run}"`;
        const read = `const fs=require('fs');for(const f of process.argv.slice(1))console.log(f+' '+(fs.statSync(f).mode&0o777).toString(8)+' '+fs.readFileSync(f,'utf8'))`;
        const files = spec('files', ['node', '-e', read, '/tmp/a.conf', '/data/b.conf'], {
          volumes: { [volume]: '/data' },
          files: [
            { path: '/tmp/a.conf', content: secret, mode: 0o600 },
            { path: '/data/b.conf', content: 'b', mode: 0o640 },
          ],
        });
        const { info, lines } = await runToEnd(files);
        expect(info.exitCode).toBe(0);
        expect(lines).toEqual([`/tmp/a.conf 600 ${secret}`, '/data/b.conf 640 b']);
        await ops.removeContainer(info.id);
        await ops.removeVolume(volume);
        const bad = spec('files-bad', ['true'], { files: [{ path: '../etc/passwd', content: 'x', mode: 0o600 }] });
        await expect(ops.runContainer(bad)).rejects.toBeInstanceOf(ValidationError);
      },
      SLOW,
    );

    it('refuses a container without the pier.app label; a taken name is a conflict; a missing image is not found', async () => {
      const unlabelled = spec('unlabelled', ['true'], { labels: { 'pier.test': '1' } });
      await expect(ops.runContainer(unlabelled)).rejects.toBeInstanceOf(ValidationError);
      const taken = { ...spec('taken', ['node', '-e', '']), name: (await greeterServer()).name };
      await expect(ops.runContainer(taken)).rejects.toBeInstanceOf(ConflictError);
      const missing = spec('missing', ['true'], { image: `pier-ops-missing-${run}:none` });
      await expect(ops.runContainer(missing)).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}

/** Retries `check` until it resolves, for up to `timeoutMs`; then rejects with its last error. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
