import { describe, expect, it } from 'vitest';
import { mountPathProblem, mountPathsOverlap, volumeDockerName, volumeLabels, volumeNameProblem } from './volumes.ts';

describe('volumeNameProblem', () => {
  it.each([
    ['data', true],
    ['uploads-2', true],
    ['a'.repeat(40), true],
    ['a'.repeat(41), false],
    ['', false],
    ['Data', false],
    ['2data', false],
    ['data-', false],
    ['da--ta', false],
    ['da_ta', false],
    ['../x', false],
  ])('%j → ok %s', (name, ok) => {
    expect(volumeNameProblem(name) === undefined).toBe(ok);
  });
});

describe('mountPathProblem', () => {
  it.each([
    ['/data', undefined],
    ['/app/storage', undefined],
    ['/var/lib/app', undefined],
    ['/usr-data', undefined],
    ['/etc-app', undefined],
    ['/devices', undefined],
    [`/${'a'.repeat(199)}`, undefined],
    [`/${'a'.repeat(200)}`, 'must be 1 to 200 characters'],
    ['', 'must be 1 to 200 characters'],
    ['data', 'must be an absolute path (start with /)'],
    ['./data', 'must be an absolute path (start with /)'],
    ['/', 'must not be / (the whole filesystem)'],
    ['/data/', 'must be normalised (no ., // or trailing /)'],
    ['/data//x', 'must be normalised (no ., // or trailing /)'],
    ['/data/./x', 'must be normalised (no ., // or trailing /)'],
    ['/data/../etc', 'must not contain ..'],
    ['/..', 'must not contain ..'],
    ['/proc', "must not be /proc or under it (the kernel's own file system)"],
    ['/proc/self', "must not be /proc or under it (the kernel's own file system)"],
    ['/sys/fs', "must not be /sys or under it (the kernel's own file system)"],
    ['/dev', "must not be /dev or under it (the kernel's own file system)"],
    ['/dev/shm', "must not be /dev or under it (the kernel's own file system)"],
    ['/etc', 'must not be /etc (a system directory the image needs)'],
    ['/usr', 'must not be /usr (a system directory the image needs)'],
    ['/bin', 'must not be /bin (a system directory the image needs)'],
    ['/lib', 'must not be /lib (a system directory the image needs)'],
    ['/sbin', 'must not be /sbin (a system directory the image needs)'],
    ['/data x', 'may contain only letters, digits and . _ / -'],
    ['/data;rm', 'may contain only letters, digits and . _ / -'],
  ])('%j → %s', (path, problem) => {
    expect(mountPathProblem(path)).toBe(problem);
  });
});

describe('mountPathsOverlap', () => {
  it.each([
    ['/data', '/data', true],
    ['/data', '/data/x', true],
    ['/data/x', '/data', true],
    ['/data', '/data2', false],
    ['/a', '/b', false],
  ])('%s and %s → %s', (a, b, overlap) => {
    expect(mountPathsOverlap(a, b)).toBe(overlap);
  });
});

describe('volume names and labels', () => {
  it('names the Docker volume after the app, environment and volume, with a suffix', () => {
    expect(volumeDockerName('shop', 'production', 'data', 'a1b2c3')).toBe('pier-vol-shop-production-data-a1b2c3');
  });

  it('labels it with the app, environment, role, volume and instance', () => {
    expect(volumeLabels({ app: 'shop', env: 'production', environmentId: 'e1', name: 'data' }, 'pier')).toEqual({
      'pier.app': 'shop',
      'pier.env': 'production',
      'pier.role': 'volume',
      'pier.volume': 'data',
      'pier.environment-id': 'e1',
      'pier.instance': 'pier',
    });
  });
});
