import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHostResources } from './host-resources.ts';

const dir = mkdtempSync(join(tmpdir(), 'pier-meminfo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readHostResources', () => {
  it('reads MemTotal and MemAvailable from meminfo, and the free space of each filesystem once', async () => {
    const meminfo = join(dir, 'meminfo');
    writeFileSync(meminfo, 'MemTotal:       24683520 kB\nMemFree:        22014976 kB\nMemAvailable:   24113152 kB\n');
    const host = await readHostResources({ meminfoPath: meminfo, paths: ['/', dir, '/', '/no/such/path'] });
    expect(host.memoryTotalBytes).toBe(24683520 * 1024);
    expect(host.memoryAvailableBytes).toBe(24113152 * 1024);
    // `/` once; the temporary directory too when it is another filesystem; the missing path left out.
    expect(host.disks[0]).toEqual({ path: '/', freeBytes: expect.any(Number) });
    expect(host.disks.map((disk) => disk.path).filter((path) => path === '/')).toHaveLength(1);
    expect(host.disks.map((disk) => disk.path)).not.toContain('/no/such/path');
    expect(host.disks[0]?.freeBytes).toBeGreaterThan(0);
  });

  it("falls back on Node's figures where there is no meminfo, and reads this host's by default", async () => {
    const host = await readHostResources({ meminfoPath: join(dir, 'missing') });
    expect(host.memoryTotalBytes).toBe(totalmem());
    const real = await readHostResources();
    expect(real.memoryTotalBytes).toBeGreaterThan(real.memoryAvailableBytes / 2);
    expect(real.disks.map((disk) => disk.path)).toEqual(['/']);
  });
});
