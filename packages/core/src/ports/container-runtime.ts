import type { Writable } from 'node:stream';

/** Labels on everything Pier creates in Docker; only labelled objects are ever listed, pruned or removed. */
export const LABEL_APP = 'pier.app';
export const LABEL_ENV = 'pier.env';
export const LABEL_RELEASE = 'pier.release';
export const LABEL_ROLE = 'pier.role';
export const LABEL_DEPLOYMENT = 'pier.deployment';
export const LABEL_COMMIT = 'pier.commit';
/**
 * `pier.role` of the install stage of a generated build: the build's labels
 * reach only its final image, so the generated Dockerfile labels that stage
 * itself (see the builder's `installStageStart`). Pruning keeps the newest
 * per app as build cache; deleting the app removes them all.
 */
export const ROLE_BUILD_STAGE = 'build-stage';

export interface BuildRequest {
  /** Directory whose files are the build context. */
  contextDirectory: string;
  /** Dockerfile path relative to the context. */
  dockerfile: string;
  /** Stage of a multi-stage Dockerfile to build (default: the last). */
  target?: string;
  /** `ARG` values; readable in the image's history, so never secrets. */
  buildArgs?: Record<string, string>;
  /** Files Pier wrote into the context (a CA bundle for a generated build's install stage): sent whatever `.dockerignore` says. */
  contextFiles?: string[];
  /** Tag to apply, e.g. `pier/web:<sha>`. */
  tag: string;
  labels: Record<string, string>;
  /** Memory limit of build containers, bytes. */
  memoryBytes: number;
  /** The build is stopped and fails after this long. */
  timeoutMs: number;
}

export interface BuiltImage {
  /** Content-addressed id, `sha256:…`. */
  imageId: string;
  tag: string;
}

export interface ImageSummary {
  imageId: string;
  tags: string[];
  labels: Record<string, string>;
  createdAt: Date;
  sizeBytes: number;
}

/** Credentials for one registry; the caller sends them only to the registry they are for. */
export interface RegistryAuth {
  /** `host[:port]` of the registry (`registryServer`). */
  server: string;
  username: string;
  password: string;
}

/** An image built elsewhere, pulled and kept as Pier's own. */
export interface PullRequest {
  /** A reference `parseImageReference` accepts, e.g. `ghcr.io/acme/web:1.4`. */
  reference: string;
  /** Sent to the reference's registry; null pulls anonymously. */
  auth: RegistryAuth | null;
  /** Local tag of the kept image, e.g. `pier/web:pulled-<id12>`. */
  tag: string;
  /** Labels of the kept image (one built elsewhere has none of Pier's: pruning, retention and deletion find it by these). */
  labels: Record<string, string>;
  /** The pull is stopped and fails after this long. */
  timeoutMs: number;
}

export interface PulledImage {
  /** Id of the kept (labelled) image: what replicas run. */
  imageId: string;
  /** Id of the image as pulled, before Pier's labels. */
  pulledId: string;
  tag: string;
  /** `sha256:…` the registry served for the reference, when it reported one. */
  digest: string | null;
}

/**
 * Port: the container engine. Contract:
 * - `buildImage` streams each output line to `onLine` as it arrives, rejects
 *   with a BuildError carrying the last lines when the build fails, times out
 *   or `signal` aborts, and leaves no build containers behind.
 * - `listImages` returns only images carrying every label in `labels`.
 * - `removeImage` removes by id and ignores an image already gone; it refuses
 *   images without the `pier.app` label.
 * - `freeDiskBytes` is the free space where the engine stores images.
 * - `imageExposedPorts` lists the TCP ports an image EXPOSEs (any image,
 *   by id or reference), ascending; an image not there is a NotFoundError.
 * - `imageTags` lists the tags of the local images of one repository (no
 *   pulling): generated builds choose a version tag from them.
 * - `pullImage` pulls `reference` with `auth`, streaming progress lines to
 *   `onLine` (never a credential), and keeps it as a config-only image FROM the
 *   pulled one carrying `labels` under `tag`; the name the pull made (the
 *   reference's tag or digest) goes, so the kept image alone holds the layers.
 *   Concurrent pulls of one reference each keep their image. It rejects
 *   with a BuildError whose message says why in the user's terms (credentials
 *   rejected, image not found, registry unreachable, ONBUILD triggers, timed
 *   out, cancelled), keeping nothing of a refused image.
 * - `imageDiskBytes` is what the engine's image layers take on disk, each
 *   layer counted once: the difference around removals is the space freed.
 */
export interface ContainerRuntime {
  buildImage(request: BuildRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<BuiltImage>;
  listImages(labels: Record<string, string>): Promise<ImageSummary[]>;
  removeImage(imageId: string): Promise<void>;
  freeDiskBytes(): Promise<number>;
  imageExposedPorts(image: string): Promise<number[]>;
  /** Tags of the local images of `repository` (`pier-local/node` → `['18', 'latest']`), sorted; none: []. */
  imageTags(repository: string): Promise<string[]>;
  pullImage(request: PullRequest, onLine: (line: string) => void, signal?: AbortSignal): Promise<PulledImage>;
  imageDiskBytes(): Promise<number>;
}

/** CPU, memory and process limits of one container. */
export interface ResourceLimits {
  memoryBytes: number;
  /** CPUs in billionths (1e9 = one CPU). */
  nanoCpus: number;
  pids: number;
}

/** What to run: one replica of a release, or a managed service. */
export interface ContainerSpec {
  /** Unique, DNS-safe container name, e.g. `pier-web-production-r3-1a2b`. */
  name: string;
  image: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  /** Port the process listens on inside (also given as PORT); published on 127.0.0.1 at a random host port. Null: not published. */
  containerPort: number | null;
  /** Docker networks to attach to, the first at creation. */
  networks: string[];
  /** Network aliases on those networks (e.g. a service's name). */
  aliases?: string[];
  limits: ResourceLimits;
  /** Named volumes (never host paths): volume name → mount path. */
  volumes?: Record<string, string>;
  /** Of `volumes`, the names of those mounted read-only (a backup's helper only reads). */
  readOnlyVolumes?: readonly string[];
  command?: string[];
  /**
   * Files written into the container after it is created and before it
   * starts: a secret the process reads from a file stays out of the command
   * and the environment, which `docker inspect` and `ps` show.
   */
  files?: ContainerFile[];
}

export interface ContainerFile {
  /** Absolute path inside the container (at most 100 characters); missing directories are made (root's, 0755). */
  path: string;
  content: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** A user of the image (its `/etc/passwd`) that owns the file, with its primary group; root when absent. */
  owner?: string;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerInfo {
  id: string;
  name: string;
  imageId: string;
  /** The container's labels, which include those of its image. */
  labels: Record<string, string>;
  status: ContainerStatus;
  /** Set once the container has stopped (exited or dead). */
  exitCode: number | null;
  /** The kernel ended it for going past its memory limit (the Engine's State.OOMKilled). */
  oomKilled: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Host port on 127.0.0.1 that reaches `containerPort`, when published and the container runs (a new one on each start). */
  hostPort: number | null;
  /** Address on each attached network, while the container runs. */
  networks: Record<string, string>;
}

export interface LogOptions {
  tail?: number;
  since?: Date;
  /** An entry's `time`: lines from that instant on (that entry included), to the nanosecond; in place of `since`. */
  sinceTime?: string;
  follow?: boolean;
  signal?: AbortSignal;
  /** A longer line keeps its first `maxLineBytes` bytes and a `… [N bytes cut]` marker; the rest is never held. */
  maxLineBytes?: number;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  line: string;
  at: Date | null;
  /** The engine's timestamp as it wrote it (RFC 3339, nanoseconds), where it gives one: resume with `sinceTime`. */
  time?: string;
}

/** How to run a command inside a running container. */
export interface ExecOptions {
  /** Written to the process's stdin, which is then closed; absent: no stdin. */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** Receives stdout as it arrives; absent: stdout is collected into the result. */
  stdout?: Writable;
  /** Extra environment of the process (secrets go here, never into the command). */
  env?: Record<string, string>;
  /** User to run as, e.g. `postgres`. */
  user?: string;
  /** Stops waiting after this long; the result is an error. */
  timeoutMs?: number;
}

/** A network of Pier's, as `listNetworks` reports it. */
export interface NetworkInfo {
  name: string;
  labels: Record<string, string>;
  createdAt: Date;
  /** Running containers attached (Docker does not count stopped ones). */
  containers: number;
}

export interface ExecResult {
  exitCode: number;
  /** Collected stdout (empty when `stdout` was given). */
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
}

/**
 * Port: running containers. Only containers and networks with the `pier.app`
 * label are ever listed, stopped or removed. Contract:
 * - `runContainer` creates and starts a container from `spec` with the
 *   HostConfig of the one safe builder (no privileged mode, host mounts, Docker
 *   socket, host network/PID or added capabilities; limits always set), and
 *   resolves once it is started, with its published host port. The env is
 *   passed as given (the caller sets PORT). It refuses (ValidationError) a spec
 *   without the `pier.app` label; an image that is not there locally is a
 *   NotFoundError (never pulled), a taken name a ConflictError; a container
 *   that cannot be attached or started is removed before the call rejects.
 * - `stopContainer` sends SIGTERM, then SIGKILL after `graceSeconds`; a
 *   container already stopped or gone is not an error. `removeContainer`
 *   forces (keeping volumes); gone is not an error. Both refuse (ConflictError)
 *   a container without the `pier.app` label.
 * - `listContainers` returns containers in every state carrying the `pier.app`
 *   label and every label in `labels`; with `summary`, from one request,
 *   only id, name, image, labels and status (exit code, times and host port
 *   null, `oomKilled` false, no networks), for loops that look often.
 * - `containerLogs` yields lines in order within each stream (stdout and
 *   stderr are captured separately, so their interleaving is approximate);
 *   `tail` counts the engine's log messages (a line over 16 KiB is several).
 *   With `follow` it ends when the container stops or `signal` aborts. A
 *   missing container is a NotFoundError.
 * - `ensureNetwork` creates a labelled bridge network once, also under
 *   concurrent calls; it refuses (ConflictError) an existing network without
 *   the `pier.app` label. `removeNetwork` ignores a missing one.
 *   `listNetworks` returns networks carrying the `pier.app` label and every
 *   label in `labels`, with how many running containers each has attached.
 */
export interface ContainerOperations {
  runContainer(spec: ContainerSpec): Promise<ContainerInfo>;
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInfo | null>;
  /** With `summary`: one list request, no inspect per container (exit code, times, host port null; no networks). */
  listContainers(labels: Record<string, string>, options?: { summary?: boolean }): Promise<ContainerInfo[]>;
  containerLogs(id: string, options: LogOptions): AsyncIterable<LogEntry>;
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  listNetworks(labels: Record<string, string>): Promise<NetworkInfo[]>;
  /** Runs `command` (an argument array, never a shell string) in a running container of Pier's; resolves with its exit code. */
  exec(id: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Creates a labelled named volume once; refuses (ConflictError) an existing one without the `pier.app` label. */
  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  /** Removes a labelled volume; a missing one is fine, one in use is a ConflictError. */
  removeVolume(name: string): Promise<void>;
}
