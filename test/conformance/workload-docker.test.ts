import { DockerWorkload } from '@pier/docker';
import Dockerode from 'dockerode';
import { describeWorkloadConformance, type ProgramSpec, SPOKEN } from './workload.ts';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const IMAGE = 'pier-local/node:latest';
const PYTHON = 'pier-local/python:latest';
/** Takes 200 MiB (touched, so really resident) and holds it until stopped. */
const ALLOCATE =
  'import signal, sys, time\nb = bytearray(200 * 1024 * 1024)\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\nprint("allocated", flush=True)\ntime.sleep(3600)';
const GAP_MS = 400;

/** Answers every request with $GREETING on $PORT and writes `ready` once listening; then `more`. */
function greeter(more: string): ProgramSpec {
  const serve =
    "require('http').createServer((q,s)=>s.end(process.env.GREETING)).listen(process.env.PORT,()=>console.log('ready'))";
  return { image: IMAGE, command: ['node', '-e', `${serve};${more}`] };
}

/** Writes each `stream:line` argument after the first (the pause in ms), the first at once, then exits. */
const SPEAK =
  "const [g,...a]=process.argv.slice(1);let i=0;const say=()=>{const x=a[i++];if(x===undefined)return;const [s,...r]=x.split(':');(s==='stderr'?process.stderr:process.stdout).write(r.join(':')+'\\n');setTimeout(say,Number(g))};say()";

describeWorkloadConformance('DockerWorkload', () => new DockerWorkload({ docker }), {
  greeter: greeter("process.on('SIGTERM',()=>{console.log('bye');process.exit(0)})"),
  ignoresTerm: greeter("process.on('SIGTERM',()=>{})"),
  // Late enough that `run`, which inspects the container once started, still sees it running.
  crashes: greeter('setTimeout(()=>process.exit(3),1500)'),
  outOfMemory: { image: PYTHON, command: ['python3', '-c', ALLOCATE] },
  speaker: { image: IMAGE, command: ['node', '-e', SPEAK, String(GAP_MS), ...SPOKEN.map((e) => `${e.stream}:${e.line}`)] },
  speakerGapMs: GAP_MS,
  graceScale: 1,
});
