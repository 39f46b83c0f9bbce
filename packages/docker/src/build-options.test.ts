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

describe('buildOptions', () => {
  it('limits memory without swap, keeps the cache, never pulls, always removes build containers', () => {
    expect(buildOptions(request)).toEqual({
      t: 'pier/web:abc',
      dockerfile: 'docker/Dockerfile',
      labels: { 'pier.app': 'web' },
      memory: 536_870_912,
      memswap: 536_870_912,
      forcerm: true,
      rm: true,
      nocache: false,
      pull: false,
    });
  });

  it('passes the abort signal and copies the labels', () => {
    const signal = new AbortController().signal;
    const options = buildOptions(request, signal);
    expect(options.abortSignal).toBe(signal);
    expect(options.labels).not.toBe(request.labels);
  });
});
