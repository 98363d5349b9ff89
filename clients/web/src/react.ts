// React bindings (docs/web-client.md): a provider for the client, and hooks that re-render
// on the changes the client reports.
import { ReactNode, createContext, createElement, useContext, useEffect, useRef, useState, useSyncExternalStore } from "react";

import type { AvsyncClient, SyncStatus, TypedRow } from "./client.js";
import type { EntityInput } from "./schema.js";
import { findEntity } from "./schema.js";
import type { ListQuery } from "./store.js";

const Context = createContext<AvsyncClient | null>(null);

/** Makes `client` the one the hooks below use. */
export function AvsyncProvider(props: { client: AvsyncClient; children?: ReactNode }) {
  return createElement(Context.Provider, { value: props.client }, props.children);
}

/** The client of the nearest AvsyncProvider. */
export function useSyncEngine(): AvsyncClient {
  const client = useContext(Context);
  if (!client) throw new Error("useSyncEngine: no AvsyncProvider above this component");
  return client;
}

/** The sync status: `{ state, pending, failed, lastSyncAt, lastError, retryInMs }`, live. */
export function useSyncStatus(): SyncStatus {
  const client = useSyncEngine();
  return useSyncExternalStore(
    (onChange) => client.subscribe(onChange),
    () => client.status(),
  );
}

export interface RowsResult<E extends EntityInput> {
  rows: TypedRow<E>[];
  loading: boolean;
  error: Error | null;
}

/**
 * The rows of `entity` matching `query` (see `list`), read again whenever a row of that
 * entity changes: a local write, a pull, or another tab's.
 */
export function useRows<E extends EntityInput>(entity: E, query: ListQuery = {}): RowsResult<E> {
  const client = useSyncEngine();
  const key = JSON.stringify(query);
  const [state, setState] = useState<RowsResult<E>>({ rows: [], loading: true, error: null });
  const generation = useRef(0);
  useEffect(() => {
    const canonical = findEntity(entity)?.name ?? entity;
    const parsed = JSON.parse(key) as ListQuery;
    let live = true;
    const load = () => {
      const mine = ++generation.current;
      client.list(entity, parsed).then(
        (rows) => {
          if (live && mine === generation.current) setState({ rows, loading: false, error: null });
        },
        (error: Error) => {
          if (live && mine === generation.current) setState((s) => ({ ...s, loading: false, error }));
        },
      );
    };
    load();
    const unsubscribe = client.subscribe((event) => {
      if (event.rows.some((r) => r.entity === canonical)) load();
    });
    return () => {
      live = false;
      unsubscribe();
    };
  }, [client, entity, key]);
  return state;
}
