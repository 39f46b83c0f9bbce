import { readFile } from 'node:fs/promises';

/** The host's CPU time so far (the `cpu` line of /proc/stat), in clock ticks. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: idle and iowait are idle, everything else (guest time is inside user) busy. */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return null;
  const total = fields.reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of the CPUs busy between two readings, 0–1; 0 without a previous one. */
export function cpuBusyShare(previous: CpuTimes | null, current: CpuTimes | null): number {
  if (!previous || !current) return 0;
  const total = current.total - previous.total;
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, (current.busy - previous.busy) / total));
}

export async function readCpuTimes(path = '/proc/stat'): Promise<CpuTimes | null> {
  return parseProcStat(await readFile(path, 'utf8').catch(() => ''));
}
