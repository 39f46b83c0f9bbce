import { ValidationError } from './errors.ts';

/** The five fields of a cron expression, in order, with their ranges. */
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const ALIASES: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
};

/** A parsed 5-field cron expression (UTC): minute hour day-of-month month day-of-week. */
export interface CronSchedule {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0-6, Sunday is 0 (7 is accepted and read as 0). */
  readonly weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either runs. */
  readonly dayOr: boolean;
}

/** Why `expression` is not a cron expression Pier runs, or undefined. */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Parses `*`, `n`, `a-b`, lists and `/step` in each of the five fields, and @hourly/@daily/@weekly/@monthly. */
export function parseCron(expression: string): CronSchedule {
  const text = ALIASES[expression.trim()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new ValidationError('must have 5 fields: minute hour day-of-month month day-of-week', 'schedule');
  const sets = parts.map((part, i) => parseField(part, FIELDS[i] as (typeof FIELDS)[number]));
  const [minutes, hours, days, months, weekdaysRaw] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const weekdays = new Set([...weekdaysRaw].map((d) => d % 7));
  return { expression, minutes, hours, days, months, weekdays, dayOr: parts[2] !== '*' && parts[4] !== '*' };
}

function parseField(part: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of part.split(',')) {
    const match = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new ValidationError(`${field.name} field ${JSON.stringify(item)} is not valid`, 'schedule');
    const [, range = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    const bounds = range === '*' ? [field.min, field.max] : range.split('-').map(Number);
    const from = bounds[0] ?? Number.NaN;
    const to = bounds[1] ?? (stepText === undefined ? from : field.max);
    if (Number.isNaN(from) || from < field.min || to > field.max || from > to || step < 1) {
      throw new ValidationError(
        `${field.name} field ${JSON.stringify(item)} is out of range ${field.min}-${field.max}`,
        'schedule',
      );
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** The first minute strictly after `after` that the schedule runs at (UTC); null if none within ~4 years. */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | null {
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = after.getTime() + 4 * 366 * 24 * 3600_000;
  while (t.getTime() <= limit) {
    if (!schedule.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(schedule, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!schedule.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!schedule.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return t;
  }
  return null;
}

function dayMatches(schedule: CronSchedule, t: Date): boolean {
  const dom = schedule.days.has(t.getUTCDate());
  const dow = schedule.weekdays.has(t.getUTCDay());
  return schedule.dayOr ? dom || dow : dom && dow;
}

/**
 * The newest slot of `schedule` after `since` and not after `now`, or null:
 * a scheduler that was down for several slots runs one backup, not a burst.
 */
export function latestDueSlot(schedule: CronSchedule, since: Date, now: Date): Date | null {
  let slot: Date | null = null;
  for (let next = nextCronTime(schedule, since), i = 0; next && next <= now && i < 100_000; i++) {
    slot = next;
    next = nextCronTime(schedule, next);
  }
  return slot;
}
