import { type CronSchedule, nextCronTime } from './cron.ts';

/** Slots reported one by one per schedule and pass; the rest of a long stretch is summed up in one event. */
export const MISSED_SLOTS_PER_PASS = 50;
/** Slots counted at most per schedule and pass (an every-minute schedule over a week is 10,080). */
const MAX_SLOTS_COUNTED = 20_000;

export interface MissedSlots {
  /** The first missed slots, oldest first, at most `perPass`. */
  missed: Date[];
  /** How many more slots were missed after those (summed up in one event). */
  more: number;
  /** The last slot that was missed (of `missed` or of the rest), for the summary. */
  lastMissed: Date | null;
}

/**
 * The dead man's switch's decision for one schedule: the slots after `from`
 * and not after `until` that have no backup or run (`taken`, epoch
 * milliseconds of the slots recorded). The window is the caller's: from where
 * the last pass checked to now less a grace, so a slot the scheduler is about
 * to take is not reported. Pure; enumeration is bounded.
 */
export function missedSlots(
  schedule: CronSchedule,
  from: Date,
  until: Date,
  taken: ReadonlySet<number>,
  perPass = MISSED_SLOTS_PER_PASS,
): MissedSlots {
  const result: MissedSlots = { missed: [], more: 0, lastMissed: null };
  let counted = 0;
  for (let slot = nextCronTime(schedule, from); slot && slot <= until && counted < MAX_SLOTS_COUNTED; counted++) {
    if (!taken.has(slot.getTime())) {
      if (result.missed.length < perPass) result.missed.push(slot);
      else result.more++;
      result.lastMissed = slot;
    }
    slot = nextCronTime(schedule, slot);
  }
  return result;
}
