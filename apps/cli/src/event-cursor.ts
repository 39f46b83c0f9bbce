/** An event as the API presents it (GET /events, GET /apps/:app/events). */
export interface PierEvent {
  id: number;
  at: string;
  kind: string;
  severity: string;
  app: string | null;
  env: string | null;
  message: string;
}

/**
 * Where `pier events --follow` is: the API's `since` is inclusive (at or
 * after), so each poll asks from the newest time seen and drops the events
 * already printed at that very time.
 */
export class EventCursor {
  private latest: string | undefined;
  private seenAtLatest = new Set<number>();

  /** The `since` of the next poll (undefined before the first page). */
  get since(): string | undefined {
    return this.latest;
  }

  /** The events not seen yet, oldest first; remembers them. */
  take(events: PierEvent[]): PierEvent[] {
    const fresh = events
      .filter((e) => !(e.at === this.latest && this.seenAtLatest.has(e.id)))
      .filter((e) => this.latest === undefined || Date.parse(e.at) >= Date.parse(this.latest))
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id - b.id);
    for (const event of fresh) {
      if (event.at !== this.latest && (this.latest === undefined || Date.parse(event.at) > Date.parse(this.latest))) {
        this.latest = event.at;
        this.seenAtLatest = new Set();
      }
      if (event.at === this.latest) this.seenAtLatest.add(event.id);
    }
    return fresh;
  }
}
