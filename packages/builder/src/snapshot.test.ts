import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBuildSnapshot, SNAPSHOT_FILE_MAX_BYTES } from './snapshot.ts';

let root: string;
let repo: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pier-snapshot-'));
  repo = join(root, 'repo');
  mkdirSync(repo);
  writeFileSync(join(root, 'secret'), 'outside');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function files(entries: Record<string, string>): void {
  for (const [path, text] of Object.entries(entries)) {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  }
}

describe('readBuildSnapshot', () => {
  it('reads the root files detection needs', async () => {
    files({
      'package.json': '{}',
      'yarn.lock': '',
      'package-lock.json': '{}',
      Procfile: 'web: x',
      'requirements.txt': 'flask',
      'pyproject.toml': '[project]',
      '.node-version': '20',
      '.python-version': '3.11.4',
      'runtime.txt': 'python-3.11.4',
      'server.js': '',
      'manage.py': '',
      'docker/Dockerfile.prod': 'FROM x',
    });
    expect(await readBuildSnapshot(repo, 'docker/Dockerfile.prod')).toEqual({
      dockerfile: 'FROM x',
      packageJson: '{}',
      lockfile: 'package-lock.json',
      procfile: 'web: x',
      requirementsTxt: 'flask',
      pyprojectToml: '[project]',
      nodeVersionFile: '20',
      nodeVersionFileName: '.node-version',
      pythonVersionFile: '3.11.4',
      runtimeTxt: 'python-3.11.4',
      serverJs: true,
      managePy: true,
    });
  });

  it('leaves out what is missing, and prefers .nvmrc', async () => {
    files({ '.nvmrc': '18', '.node-version': '20' });
    expect(await readBuildSnapshot(repo, 'Dockerfile')).toEqual({
      dockerfile: undefined,
      packageJson: undefined,
      lockfile: undefined,
      procfile: undefined,
      requirementsTxt: undefined,
      pyprojectToml: undefined,
      nodeVersionFile: '18',
      nodeVersionFileName: '.nvmrc',
      pythonVersionFile: undefined,
      runtimeTxt: undefined,
      serverJs: false,
      managePy: false,
    });
  });

  it('follows symlinks inside the repository only', async () => {
    files({ 'docker/Dockerfile': 'FROM inside' });
    symlinkSync('docker/Dockerfile', join(repo, 'Dockerfile'));
    symlinkSync('../secret', join(repo, 'package.json'));
    symlinkSync('/etc/passwd', join(repo, 'Procfile'));
    symlinkSync(root, join(repo, 'up'));
    const snapshot = await readBuildSnapshot(repo, 'Dockerfile');
    expect(snapshot.dockerfile).toBe('FROM inside');
    expect(snapshot.packageJson).toBeUndefined();
    expect(snapshot.procfile).toBeUndefined();
    expect((await readBuildSnapshot(repo, 'up/secret')).dockerfile).toBeUndefined();
  });

  it('ignores a directory at a file name', async () => {
    mkdirSync(join(repo, 'Dockerfile'));
    expect((await readBuildSnapshot(repo, 'Dockerfile')).dockerfile).toBeUndefined();
  });

  it('refuses an oversized file and a bad Dockerfile path', async () => {
    files({ 'package.json': 'x'.repeat(SNAPSHOT_FILE_MAX_BYTES + 1) });
    await expect(readBuildSnapshot(repo, 'Dockerfile')).rejects.toMatchObject({ field: 'package.json' });
    await expect(readBuildSnapshot(repo, '../Dockerfile')).rejects.toMatchObject({ field: 'dockerfilePath' });
  });
});
