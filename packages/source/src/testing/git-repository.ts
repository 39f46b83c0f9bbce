import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A file's contents, or a symlink to create instead. */
export type TestFile = string | { symlink: string };

/**
 * A bare repository and a work clone in a temp directory, driven by the real
 * git with an isolated configuration. For tests only.
 */
export class TestGitRepository {
  readonly root: string;
  readonly bare: string;
  readonly work: string;
  /** `file://` URL of the bare repository. */
  readonly url: string;

  constructor(parent: string = tmpdir()) {
    this.root = mkdtempSync(join(parent, 'pier-repo-'));
    this.bare = join(this.root, 'origin.git');
    this.work = join(this.root, 'work');
    this.url = pathToFileURL(this.bare).href;
    this.git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', this.bare);
    this.git(this.root, 'init', '--quiet', '--initial-branch=main', this.work);
    this.git(this.work, 'remote', 'add', 'origin', this.url);
  }

  /** Writes files, commits them all and returns the commit id. */
  commit(files: Record<string, TestFile>, message = 'change'): string {
    for (const [path, file] of Object.entries(files)) {
      const full = join(this.work, path);
      mkdirSync(dirname(full), { recursive: true });
      rmSync(full, { force: true });
      if (typeof file === 'string') writeFileSync(full, file);
      else symlinkSync(file.symlink, full);
    }
    this.git(this.work, 'add', '--all');
    this.git(this.work, 'commit', '--quiet', '--message', message);
    return this.run('rev-parse', 'HEAD');
  }

  /** Runs git in the work clone and returns its trimmed output. */
  run(...args: string[]): string {
    return this.git(this.work, ...args);
  }

  /** Pushes every branch and tag to the bare repository. */
  push(): void {
    this.run('push', '--quiet', '--all', 'origin');
    this.run('push', '--quiet', '--tags', 'origin');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private git(cwd: string, ...args: string[]): string {
    const env = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: this.root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Pier Test',
      GIT_AUTHOR_EMAIL: 'test@pier.invalid',
      GIT_COMMITTER_NAME: 'Pier Test',
      GIT_COMMITTER_EMAIL: 'test@pier.invalid',
    };
    return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }
}
