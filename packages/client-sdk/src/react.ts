import { createContext, createElement, useCallback, useContext, useRef, useSyncExternalStore, type ReactNode } from 'react';
import type { OutbidClient } from './client.js';
import type { WatchSnapshot } from './types.js';
import type { WatchOptions } from './watch.js';

const ClientContext = createContext<OutbidClient | null>(null);

/** Makes a client available to `useAuction` below it. */
export function OutbidProvider(props: { client: OutbidClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: props.client }, props.children);
}

const INITIAL: WatchSnapshot = { auction: null, connection: 'connecting', error: null };

/**
 * The live state of an auction, re-rendering only when it changes (built on useSyncExternalStore, so it is safe in
 * concurrent rendering). Pass `client` or wrap the tree in `<OutbidProvider>`.
 */
export function useAuction(auctionId: string, options: WatchOptions & { client?: OutbidClient } = {}): WatchSnapshot {
  const fromContext = useContext(ClientContext);
  const client = options.client ?? fromContext;
  if (!client) throw new Error('useAuction needs an Outbid client: pass { client } or render inside <OutbidProvider>.');
  const latest = useRef<WatchSnapshot>(INITIAL);
  const { heartbeatMs, baseDelayMs, maxDelayMs } = options;
  const subscribe = useCallback(
    (onChange: () => void) => {
      latest.current = INITIAL;
      return client.watchAuction(
        auctionId,
        (snapshot) => {
          latest.current = snapshot;
          onChange();
        },
        { ...(heartbeatMs ? { heartbeatMs } : {}), ...(baseDelayMs ? { baseDelayMs } : {}), ...(maxDelayMs ? { maxDelayMs } : {}) },
      );
    },
    [client, auctionId, heartbeatMs, baseDelayMs, maxDelayMs],
  );
  return useSyncExternalStore(subscribe, () => latest.current, () => INITIAL);
}
