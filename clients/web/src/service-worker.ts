// Background sync from a Service Worker (docs/web-client.md): when connectivity returns,
// the browser wakes the worker, which pushes the queue and pulls, with the page closed.
//
//   // sw.js, bundled by the app:
//   import { installBackgroundSync } from "@avsync/web/service-worker";
//   installBackgroundSync(self, { dbName: "avsync" });
import { AvsyncError } from "./errors.js";
import { LocalStore } from "./store.js";
import { SyncReport, backoffDelay, runCycle, withSyncLock } from "./sync.js";
import { Transport } from "./transport.js";

export interface BackgroundSyncOptions {
  /** The database the page's createClient uses; default "avsync". */
  dbName?: string;
  batchSize?: number;
  pullPageSize?: number;
}

interface SyncEventLike extends Event {
  tag: string;
  lastChance?: boolean;
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * One sync of `dbName` with the server and token the page last used, under the same lock as
 * the page's engine. Throws the AvsyncError that stopped it, so the browser retries later.
 */
export async function syncInBackground(options: BackgroundSyncOptions = {}): Promise<SyncReport> {
  const dbName = options.dbName ?? "avsync";
  const store = await LocalStore.open(dbName);
  let channel: BroadcastChannel | null = null;
  try {
    const server = await store.getMeta<string>("server");
    const token = await store.getMeta<string>("token");
    if (!server || !token) throw new AvsyncError("NOT_CONFIGURED", `${dbName}: no server or token stored yet`);
    const transport = new Transport({ server, token: () => token });
    // The pages of the origin listen here (createClient), so their lists show what this
    // sync pushed and pulled.
    channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(`avsync:${dbName}`);
    return await withSyncLock(dbName, () =>
      runCycle(store, transport, {
        batchSize: options.batchSize ?? 100,
        pullPageSize: options.pullPageSize ?? 5000,
        maxRetries: 8,
        retryDelay: (attempt) => backoffDelay(attempt, 1000, 300000),
        now: () => Date.now(),
        onRows: (rows) => channel?.postMessage({ rows }),
      }),
    );
  } finally {
    channel?.close();
    store.close();
  }
}

/**
 * Handles the Background Sync event the page's client registers (`avsync:<dbName>`) and a
 * `{ type: "avsync-sync" }` message. Where the browser has no Background Sync, the page's
 * client flushes the queue at its next start instead.
 */
export function installBackgroundSync(scope: EventTarget, options: BackgroundSyncOptions = {}): void {
  const tag = `avsync:${options.dbName ?? "avsync"}`;
  scope.addEventListener("sync", (event) => {
    const e = event as SyncEventLike;
    if (e.tag === tag) e.waitUntil(syncInBackground(options));
  });
  scope.addEventListener("message", (event) => {
    const e = event as Event & { data?: { type?: string }; waitUntil?: (p: Promise<unknown>) => void };
    if (e.data?.type === "avsync-sync") e.waitUntil?.(syncInBackground(options).catch(() => undefined));
  });
}
