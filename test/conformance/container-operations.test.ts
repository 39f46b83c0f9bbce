import { DockerContainers } from '@pier/docker';
import Dockerode from 'dockerode';
import { describeContainerOperationsConformance } from './container-operations.ts';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });

describeContainerOperationsConformance('DockerContainers', () => new DockerContainers({ docker }), {
  applied: async (id) => {
    const { HostConfig, NetworkSettings } = await docker.getContainer(id).inspect();
    const configured = Object.values((HostConfig.PortBindings ?? {}) as Record<string, { HostIp: string }[]>).flat();
    const bound = Object.values(NetworkSettings.Ports ?? {}).flatMap((bindings) => bindings ?? []);
    return {
      publishedHostIps: [...configured, ...bound].map((binding) => binding.HostIp),
      memoryBytes: HostConfig.Memory ?? 0,
      nanoCpus: HostConfig.NanoCpus ?? 0,
      pids: HostConfig.PidsLimit ?? 0,
      init: HostConfig.Init === true,
    };
  },
  networkCount: async (name) => (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name).length,
});
