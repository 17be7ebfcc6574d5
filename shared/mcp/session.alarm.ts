/**
 * A session object's one alarm. Every deadline (idle expiry, the outbox's flush backstop, the
 * retry of a failed flush) asks for the alarm to fire no later than it; the alarm therefore always
 * fires at the earliest of them, and its handler recomputes the next one from the object's state.
 * The time the alarm is set for is read from storage once per instance (after an eviction the
 * instance knows nothing), so a later deadline never pushes an earlier one back.
 */
export class AlarmSchedule {
  readonly #storage: DurableObjectStorage;
  /** When the alarm fires (null: none set; undefined: not read yet in this instance). */
  #at: number | null | undefined;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** Makes sure the alarm fires at `at` or earlier. */
  async noLaterThan(at: number): Promise<void> {
    if (this.#at === undefined) this.#at = await this.#storage.getAlarm();
    if (this.#at !== null && this.#at <= at) return;
    this.#at = at;
    await this.#storage.setAlarm(at);
  }

  /** Sets the alarm to exactly this (the alarm handler, having recomputed every deadline). */
  async set(at: number | undefined): Promise<void> {
    this.#at = at ?? null;
    if (at === undefined) await this.#storage.deleteAlarm();
    else await this.#storage.setAlarm(at);
  }

  /** The alarm fired: none is set until someone asks again. */
  fired(): void {
    this.#at = null;
  }

  /** The storage was wiped (alarm included). */
  cleared(): void {
    this.#at = null;
  }
}

/** The earliest of the deadlines that are set. */
export function earliest(...deadlines: (number | undefined)[]): number | undefined {
  const set = deadlines.filter((at): at is number => at !== undefined);
  return set.length > 0 ? Math.min(...set) : undefined;
}
