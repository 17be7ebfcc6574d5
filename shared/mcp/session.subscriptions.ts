/**
 * The resources a 2025 session's client subscribed to (resources/subscribe): a set kept in the
 * session's storage, bounded in count (MAX_SUBSCRIPTIONS) and in each URI's length
 * (MAX_SUBSCRIPTION_URI_CHARS, which resources/subscribe refuses with -32602 before it gets here).
 * Storage is written first and the in-memory set changed only once that succeeded, so the two
 * never disagree: a failed write leaves the subscriptions as they were.
 */
import type { ResourceSubscriptions } from "./tool.invoke";

/** Storage key of the subscribed URIs. */
export const SUBSCRIPTIONS_KEY = "subscriptions";
/** At most this many subscriptions per session. */
export const MAX_SUBSCRIPTIONS = 100;
/** The longest URI one may subscribe to (so a session's subscriptions stay within about 200 KB). */
export const MAX_SUBSCRIPTION_URI_CHARS = 2_048;

type Kv = Pick<SyncKvStorage, "get" | "put" | "delete">;

export function loadSubscriptions(kv: Kv): Set<string> {
  return new Set(kv.get<string[]>(SUBSCRIPTIONS_KEY) ?? []);
}

export function dropSubscriptions(kv: Kv, subscriptions: Set<string>): void {
  kv.delete(SUBSCRIPTIONS_KEY);
  subscriptions.clear();
}

/** The store over `subscriptions` (the session's set, loaded by loadSubscriptions); `notify` sends one update. */
export function subscriptionStore(
  kv: Kv,
  subscriptions: Set<string>,
  notify: (uri: string) => Promise<void>,
): ResourceSubscriptions {
  return {
    max: MAX_SUBSCRIPTIONS,
    add(uri) {
      if (uri.length > MAX_SUBSCRIPTION_URI_CHARS) {
        throw new RangeError(`A subscription URI has at most ${MAX_SUBSCRIPTION_URI_CHARS} characters`);
      }
      if (subscriptions.has(uri)) return true;
      if (subscriptions.size >= MAX_SUBSCRIPTIONS) return false;
      kv.put(SUBSCRIPTIONS_KEY, [...subscriptions, uri]);
      subscriptions.add(uri);
      return true;
    },
    remove(uri) {
      if (!subscriptions.has(uri)) return;
      kv.put(
        SUBSCRIPTIONS_KEY,
        [...subscriptions].filter((held) => held !== uri),
      );
      subscriptions.delete(uri);
    },
    has: (uri) => subscriptions.has(uri),
    updated: async (uri) => {
      if (subscriptions.has(uri)) await notify(uri);
    },
  };
}
