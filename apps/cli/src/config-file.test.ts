import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, EXIT } from './cli-error.ts';
import { type CliConfig, configPath, normalizeServerUrl, readConfig, selectServer, writeConfig } from './config-file.ts';

let home: string;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'pier-cli-config-'));
});

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the config file', () => {
  it('is written with mode 600 in a folder of mode 700, and read back', () => {
    const path = configPath(join(home, 'fresh'));
    expect(path).toBe(join(home, 'fresh', 'pier', 'config.json'));
    const config: CliConfig = { current: 'work', servers: { work: { url: 'https://pier.example.com', token: 'secret' } } };
    writeConfig(path, config);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(home, 'fresh', 'pier'))).toBe(0o700);
    expect(readConfig(path)).toEqual(config);
  });

  it('replaces an existing file in one rename: no temporary file stays, and a looser mode is tightened', () => {
    const folder = join(home, 'existing', 'pier');
    mkdirSync(folder, { recursive: true });
    const path = join(folder, 'config.json');
    writeFileSync(path, '{"current":null,"servers":{}}', { mode: 0o644 });
    const before = statSync(path).ino;
    writeConfig(path, { current: 'a', servers: { a: { url: 'http://127.0.0.1:1', token: 't' } } });
    // A rename gives the path a new inode; rewriting in place would keep it (and a crash could leave half a file).
    expect(statSync(path).ino).not.toBe(before);
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(folder)).toEqual(['config.json']);
    expect(JSON.parse(readFileSync(path, 'utf8')).current).toBe('a');
  });

  it('reads a missing file as no servers, drops malformed entries, and refuses broken JSON', () => {
    expect(readConfig(join(home, 'none', 'config.json'))).toEqual({ current: null, servers: {} });
    const path = join(home, 'odd.json');
    writeFileSync(path, JSON.stringify({ current: 'gone', servers: { ok: { url: 'u', token: 't' }, bad: { url: 1 } } }));
    expect(readConfig(path)).toEqual({ current: null, servers: { ok: { url: 'u', token: 't' } } });
    writeFileSync(path, '{ broken');
    expect(() => readConfig(path)).toThrow(/not valid JSON/);
  });
});

describe('normalizeServerUrl', () => {
  it.each([
    ['https://pier.example.com/', 'https://pier.example.com'],
    ['pier.example.com', 'https://pier.example.com'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['https://example.com/pier//', 'https://example.com/pier'],
  ])('%s becomes %s', (text, url) => {
    expect(normalizeServerUrl(text)).toBe(url);
  });

  it.each([
    ['ftp://pier.example.com', 'http:// or https://'],
    ['https://admin:secret@pier.example.com', 'user or password'],
    ['https://pier.example.com/?token=x', 'query or fragment'],
    ['https://pier.example.com/#x', 'query or fragment'],
    ['http://', 'not a URL'],
  ])('refuses %s', (text, why) => {
    let err: unknown;
    try {
      normalizeServerUrl(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    expect((err as CliError).message).toContain(why);
    // The refusal never repeats a password it was given.
    expect((err as CliError).message).not.toContain('secret');
  });
});

describe('selectServer', () => {
  const config: CliConfig = {
    current: 'home',
    servers: {
      home: { url: 'https://home.example', token: 'home-token' },
      work: { url: 'https://work.example', token: 'work-token' },
    },
  };

  it('uses --server, then PIER_SERVER, then the current server', () => {
    expect(selectServer(config, { server: 'work', envServer: 'home' })).toEqual({ name: 'work', entry: config.servers.work });
    expect(selectServer(config, { envServer: 'work' })).toEqual({ name: 'work', entry: config.servers.work });
    expect(selectServer(config, {})).toEqual({ name: 'home', entry: config.servers.home });
  });

  it('lets PIER_URL with PIER_TOKEN work without a file, but a named server still wins', () => {
    const env = { envUrl: 'https://ci.example', envToken: 'ci-token' };
    expect(selectServer({ current: null, servers: {} }, env)).toEqual({
      name: 'environment',
      entry: { url: 'https://ci.example', token: 'ci-token' },
    });
    expect(selectServer(config, env).entry).toEqual({ url: 'https://ci.example', token: 'ci-token' });
    // A named server keeps its own token: PIER_TOKEN meant for another server never reaches it.
    expect(selectServer(config, { ...env, server: 'work' })).toEqual({ name: 'work', entry: config.servers.work });
    expect(selectServer(config, { envToken: 'ci-token', envServer: 'work' })).toEqual({
      name: 'work',
      entry: config.servers.work,
    });
  });

  it('lets PIER_TOKEN alone replace the saved token of the current server', () => {
    expect(selectServer(config, { envToken: 'other' })).toEqual({
      name: 'home',
      entry: { url: 'https://home.example', token: 'other' },
    });
    // PIER_URL without a token is not enough to leave the file.
    expect(selectServer(config, { envUrl: 'https://ci.example' }).entry).toEqual(config.servers.home);
  });

  it('names an unknown server and the known ones, and says how to log in when there is none', () => {
    expect(() => selectServer(config, { server: 'nope' })).toThrow(/no server named nope \(known: home, work\)/);
    let err: unknown;
    try {
      selectServer({ current: null, servers: {} }, { envToken: 'lonely-token' });
    } catch (e) {
      err = e;
    }
    expect((err as CliError).exitCode).toBe(EXIT.auth);
    expect((err as CliError).message).toContain('pier login');
    expect((err as CliError).message).not.toContain('lonely-token');
  });
});
