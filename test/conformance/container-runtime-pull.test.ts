import { randomBytes } from 'node:crypto';
import { DockerRuntime } from '@pier/docker';
import Dockerode from 'dockerode';
import { perlAppDockerfile, startTestRegistry } from '../support/registry.ts';
import { describeImagePullConformance } from './container-runtime-pull.ts';

const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const MiB = 1024 * 1024;

describeImagePullConformance(
  'DockerRuntime against docker-registry',
  () => new DockerRuntime({ docker }),
  async () => {
    const registry = await startTestRegistry(docker);
    const reference = await registry.pushBuilt(
      `conformance/app-${randomBytes(4).toString('hex')}:1`,
      perlAppDockerfile('pulled', 8 * MiB),
    );
    const onBuildReference = await registry.pushBuilt(
      `conformance/onbuild-${randomBytes(4).toString('hex')}:1`,
      'FROM pier-local/debian:bookworm\nONBUILD RUN touch /onbuild-ran\n',
    );
    return {
      host: registry.host,
      username: registry.username,
      password: registry.password,
      reference,
      uniqueBytes: 8 * MiB,
      onBuildReference,
      hasLocalName: (name) =>
        docker
          .getImage(name)
          .inspect()
          .then(
            () => true,
            () => false,
          ),
      stop: () => registry.stop(),
    };
  },
);
