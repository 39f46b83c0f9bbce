import type { BuildRequest } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { buildOptions } from './build-options.ts';

const request: BuildRequest = {
  contextDirectory: '/tmp/ctx',
  dockerfile: 'docker/Dockerfile',
  tag: 'pier/web:abc',
  labels: { 'pier.app': 'web' },
  memoryBytes: 512 * 1024 * 1024,
  timeoutMs: 60_000,
};
const environment = { network: 'pier_build_0123456789ab', cpus: 1.5, cgroupParent: '/pier-builds' };

describe('buildOptions', () => {
  it('limits memory without swap, CPU and processes; runs on its own network; keeps the cache, never pulls, always removes build containers', () => {
    expect(buildOptions(request, environment)).toEqual({
      t: 'pier/web:abc',
      dockerfile: 'docker/Dockerfile',
      labels: { 'pier.app': 'web' },
      memory: 536_870_912,
      memswap: 536_870_912,
      cpuperiod: 100_000,
      cpuquota: 150_000,
      networkmode: 'pier_build_0123456789ab',
      cgroupparent: '/pier-builds',
      forcerm: true,
      rm: true,
      nocache: false,
      pull: false,
    });
  });

  it('passes a target stage and build arguments only when given', () => {
    const options = buildOptions({ ...request, target: 'runtime', buildArgs: { NODE_ENV: 'production' } }, environment);
    expect(options.target).toBe('runtime');
    expect(options.buildargs).toEqual({ NODE_ENV: 'production' });
    expect(buildOptions({ ...request, buildArgs: {} }, environment)).not.toHaveProperty('buildargs');
  });

  it.each([
    { cpus: 1, quota: 100_000 },
    { cpus: 0.25, quota: 25_000 },
    { cpus: 8, quota: 800_000 },
    { cpus: 0.001, quota: 1000 },
  ])('$cpus CPUs are a quota of $quota µs per 100 ms', ({ cpus, quota }) => {
    expect(buildOptions(request, { ...environment, cpus }).cpuquota).toBe(quota);
  });

  it('sets no cgroup parent without one', () => {
    expect(buildOptions(request, { network: 'n', cpus: 1 })).not.toHaveProperty('cgroupparent');
  });

  it('passes the abort signal and copies the labels', () => {
    const signal = new AbortController().signal;
    const options = buildOptions(request, environment, signal);
    expect(options.abortSignal).toBe(signal);
    expect(options.labels).not.toBe(request.labels);
  });
});
