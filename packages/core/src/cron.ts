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

/** A parsed 5-field cron expression: minute hour day-of-month month day-of-week, in UTC or `timeZone`. */
export interface CronSchedule {
  readonly expression: string;
  /** IANA time zone the fields are read in; absent: UTC. */
  readonly timeZone?: string;
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

/** Why `timeZone` is not an IANA time zone this runtime knows, or undefined. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    wallClock(timeZone);
    return undefined;
  } catch {
    return `${JSON.stringify(timeZone)} is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`;
  }
}

/**
 * Parses `*`, `n`, `a-b`, lists and `/step` in each of the five fields, and
 * @hourly/@daily/@weekly/@monthly; read in `timeZone` when given (else UTC).
 */
export function parseCron(expression: string, timeZone?: string): CronSchedule {
  if (timeZone !== undefined) {
    const problem = timeZoneProblem(timeZone);
    if (problem) throw new ValidationError(problem, 'timeZone');
  }
  const text = ALIASES[expression.trim()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new ValidationError('must have 5 fields: minute hour day-of-month month day-of-week', 'schedule');
  const sets = parts.map((part, i) => parseField(part, FIELDS[i] as (typeof FIELDS)[number]));
  const [minutes, hours, days, months, weekdaysRaw] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const weekdays = new Set([...weekdaysRaw].map((d) => d % 7));
  const dayOr = parts[2] !== '*' && parts[4] !== '*';
  return { expression, minutes, hours, days, months, weekdays, dayOr, ...(isUtc(timeZone) ? {} : { timeZone }) };
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

/**
 * The first minute strictly after `after` that the schedule runs at; null if
 * none within ~4 years. In a time zone, the fields are matched against the
 * wall clock there: a wall time that a DST change skips does not run that day,
 * and one it repeats runs once, at its first occurrence.
 */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | null {
  const { timeZone } = schedule;
  if (timeZone === undefined) return nextUtcTime(schedule, after);
  let wall: Date | null = wallTime(after, timeZone);
  // Each turn moves at least a minute of wall time; a repeated hour takes ~60 turns, a skipped one none.
  for (let turn = 0; turn < 10_000 && wall; turn++) {
    wall = nextUtcTime(schedule, wall);
    if (!wall) return null;
    const instant = instantOf(wall, timeZone);
    if (instant && instant > after) return instant;
  }
  return null;
}

/** `nextCronTime` with the fields read in UTC (or on a wall clock written as UTC). */
function nextUtcTime(schedule: CronSchedule, after: Date): Date | null {
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

const clocks = new Map<string, Intl.DateTimeFormat>();

/** A formatter of the wall clock in `timeZone` (cached); throws a RangeError for an unknown zone. */
function wallClock(timeZone: string): Intl.DateTimeFormat {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    clocks.set(timeZone, clock);
  }
  return clock;
}

function isUtc(timeZone: string | undefined): boolean {
  return timeZone === undefined || timeZone === 'UTC' || timeZone === 'Etc/UTC';
}

/** The wall clock in `timeZone` at `instant`, written as a UTC date (its UTC fields are the wall clock's). */
function wallTime(instant: Date, timeZone: string): Date {
  const fields: Record<string, number> = {};
  for (const part of wallClock(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, instant.getUTCMilliseconds()));
}

/** The earliest instant whose wall clock in `timeZone` reads `wall`; null when a DST change skips it. */
function instantOf(wall: Date, timeZone: string): Date | null {
  // The zone's offsets a day either side: a wall time has one of them (offsets change at most once a day).
  const offsets = [-1, 1].map((days) => {
    const near = new Date(wall.getTime() + days * 24 * 3600_000);
    return wallTime(near, timeZone).getTime() - near.getTime();
  });
  const candidates = [...new Set(offsets)].map((offset) => new Date(wall.getTime() - offset)).sort((a, b) => +a - +b);
  return candidates.find((instant) => wallTime(instant, timeZone).getTime() === wall.getTime()) ?? null;
}
