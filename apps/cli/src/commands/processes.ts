import { path } from '../api-client.ts';
import { positionals } from '../args.ts';
import { type ProcessChange, parseScaleRequest } from '../assignments.ts';
import { usageError } from '../cli-error.ts';
import type { CommandContext, CommandInput, CommandSpec, Target } from '../command.ts';
import { fetchStatus, type ProcessView } from '../environment-status.ts';
import { followCommand } from '../follow-deployment.ts';
import { ago, printable } from '../output.ts';

interface ScaleAnswer {
  process: ProcessView;
  deployment: { id: string; state: string } | null;
}

const ps: CommandSpec = {
  name: 'ps',
  summary: "The environment's replicas: process, release, state, health, port, limits",
  usage: ['ps'],
  examples: ['pier ps', 'pier ps -e production', 'pier ps --json'],
  async run(ctx, input) {
    positionals(input, []);
    const status = await fetchStatus(ctx, await ctx.target());
    ctx.out.result(status, () => {
      if (status.replicas.length === 0) {
        const why = status.liveRelease ? 'see `pier status`' : 'nothing is deployed yet';
        return ctx.out.info(`no replicas running in ${status.environment}: ${why}`);
      }
      ctx.out.table(
        ['id', 'process', 'release', 'state', 'health', 'port', 'memory/cpus', 'started'],
        status.replicas.map((r) => [
          r.id.slice(0, 8),
          r.process,
          r.release === null ? null : `v${r.release}`,
          ctx.out.state(r.state),
          r.healthy === null ? null : ctx.out.state(r.healthy ? 'healthy' : 'unhealthy'),
          r.address?.port,
          `${r.memoryMb === null ? '-' : `${r.memoryMb}M`}/${r.cpus ?? '-'}`,
          ago(r.createdAt),
        ]),
      );
    });
  },
};

function processesRoute(target: Target): string {
  return path`/apps/${target.app}/environments/${target.env}/processes`;
}

async function listProcesses(ctx: CommandContext, target: Target) {
  const api = await ctx.api();
  const body = await api.get<{ release: number | null; processes: ProcessView[] }>(processesRoute(target), undefined, ctx.signal);
  ctx.out.result(body, () => {
    if (body.release === null) ctx.out.info(`nothing is deployed to ${target.env} yet: web is the only process type`);
    ctx.out.table(
      ['type', 'replicas', 'running', 'memory', 'cpus', 'limits from', 'health', 'command', 'last exit'],
      body.processes.map((p) => [
        p.type,
        p.replicas,
        p.running,
        `${p.memoryMb} MiB`,
        p.cpus,
        p.limitsSource,
        ctx.out.state(p.health),
        p.command === null ? '(image)' : printable(p.command),
        p.lastExit === null ? null : `${printable(p.lastExit.reason)} (${ago(p.lastExit.at)})`,
      ]),
    );
  });
}

/** `web to 3, worker memory 1024 MiB` for the confirmation. */
function describeChange(type: string, change: ProcessChange): string {
  const parts = [
    change.replicas === undefined ? '' : `to ${change.replicas}`,
    change.memoryMb === undefined ? '' : `memory ${change.memoryMb === null ? 'default' : `${change.memoryMb} MiB`}`,
    change.cpus === undefined ? '' : `cpus ${change.cpus === null ? 'default' : change.cpus}`,
  ];
  return `${type} ${parts.filter(Boolean).join(', ')}`;
}

function stringList(input: CommandInput, name: string): string[] {
  const value = input.options[name];
  return Array.isArray(value) ? value : [];
}

const scale: CommandSpec = {
  name: 'scale',
  summary: 'List the process types, or change their replicas, memory and CPUs',
  usage: ['scale', 'scale <type>=<count>… [--memory <type>=<MiB>]… [--cpus <type>=<n>]…'],
  description: [
    'Without arguments: each process type of the live release with its replicas and limits.',
    'Replica counts apply at once; new memory or CPU limits replace the running replicas with a redeploy of the',
    'same image. `default` puts a limit back to the release’s (pier.json resources, else 512 MiB and 1 CPU).',
    'Every pair is checked before anything is sent.',
  ].join('\n'),
  examples: [
    'pier scale',
    'pier scale web=3 worker=1',
    'pier scale --memory web=1024 --cpus web=0.5',
    'pier scale web=2 -e production --yes',
  ],
  options: {
    memory: { type: 'string', multiple: true, value: 'type=MiB', description: 'memory limit of each replica (repeatable)' },
    cpus: { type: 'string', multiple: true, value: 'type=n', description: 'CPU limit of each replica (repeatable)' },
  },
  async run(ctx, input) {
    const changes = parseScaleRequest(input.positionals, stringList(input, 'memory'), stringList(input, 'cpus'));
    const target = await ctx.target();
    if (changes.size === 0) return listProcesses(ctx, target);
    const wanted = [...changes].map(([type, change]) => describeChange(type, change));
    const api = await ctx.api();
    // Every type is checked before the first change: `web=3 wrker=1` must not scale web and then fail.
    const known = await api.get<{ processes: ProcessView[] }>(processesRoute(target), undefined, ctx.signal);
    const types = known.processes.map((p) => p.type);
    const unknown = [...changes.keys()].filter((type) => !types.includes(type));
    if (unknown.length > 0) {
      throw usageError(
        `${unknown.join(', ')}: no such process type in ${target.env} (there: ${types.join(', ')}); nothing was changed`,
      );
    }
    await ctx.confirmProduction(target, `scale ${wanted.join('; ')}`);
    const answers: ScaleAnswer[] = [];
    for (const [type, change] of changes) {
      const route = path`/apps/${target.app}/environments/${target.env}/processes/${type}`;
      const answer = await api.patch<ScaleAnswer>(route, change);
      answers.push(answer);
      if (ctx.out.json) continue;
      const p = answer.process;
      ctx.out.success(`${p.type}: ${p.replicas} replica(s) wanted (${p.running} running), ${p.memoryMb} MiB, ${p.cpus} CPU each`);
      if (answer.deployment) {
        const { id } = answer.deployment;
        ctx.out.info(`redeploying with the new limits: follow it with \`${followCommand(id)}\``);
      }
    }
    if (ctx.out.json) ctx.out.printJson(answers);
  },
};

export const PROCESS_COMMANDS = [ps, scale];
