import { DockerRuntime } from '@pier/docker';
import Dockerode from 'dockerode';
import { describeContainerRuntimeConformance } from './container-runtime.ts';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });

describeContainerRuntimeConformance('DockerRuntime', () => new DockerRuntime({ docker }), {
  containersWithCommand: async (marker) =>
    (await docker.listContainers({ all: true })).filter((container) => container.Command.includes(marker)).map((c) => c.Id),
});
