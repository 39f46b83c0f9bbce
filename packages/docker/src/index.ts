export { type BuildCgroup, prepareBuildCgroup } from './build-cgroup.ts';
export type { DockerRuntimeOptions } from './docker-client.ts';
export { DockerContainers } from './docker-containers.ts';
export { DockerRuntime } from './docker-runtime.ts';
export { DockerWorkload } from './docker-workload.ts';
export { assertSafeHostConfig, buildHostConfig, type HostConfigInput } from './host-config.ts';
export { type FirewallRule, type HostFirewallPlan, hostFirewallPlan } from './host-firewall.ts';
export { HostFirewallError, IptablesFirewall } from './iptables-firewall.ts';
export { type PruneOptions, type PruneResult, pruneCandidates, pruneImages } from './prune.ts';
