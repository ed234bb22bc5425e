// @vitest-environment happy-dom
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { expect, it } from 'vitest';
import { createOutbidClient } from '../src/index.js';
import { OutbidProvider, useAuction } from '../src/react.js';
import { frame, scriptedServer, until } from './scripted.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

it('useAuction renders the live state and re-renders only when it changes', async () => {
  const server = scriptedServer();
  const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
  let renders = 0;
  function Price() {
    renders++;
    const { auction, connection } = useAuction('a1');
    return createElement('p', null, auction ? `${auction.currentPrice} by ${auction.winnerId} (${connection})` : `… (${connection})`);
  }
  const container = document.createElement('div');
  const root = createRoot(container);
  await act(async () => root.render(createElement(OutbidProvider, { client }, createElement(Price))));
  expect(container.textContent).toMatch(/^… \((connecting|live)\)$/); // no auction state before the first frame
  await until(() => server.streams.length === 1);
  await act(async () => {
    server.streams[0]!.send('snapshot', frame(3));
    await until(() => container.textContent!.includes('1030'));
  });
  expect(container.textContent).toBe('1030 by b3 (live)');
  const before = renders;
  await act(async () => {
    server.streams[0]!.send('bid', frame(3)); // duplicate: no new state, no render
    server.streams[0]!.send('tick', frame(3, { type: 'tick' }));
    await new Promise((r) => setTimeout(r, 30));
  });
  expect(renders).toBe(before);
  await act(async () => {
    server.streams[0]!.send('bid', frame(4));
    await until(() => container.textContent!.includes('1040'));
  });
  expect(container.textContent).toBe('1040 by b4 (live)');
  await act(async () => root.unmount());
  await until(() => server.streams[0]!.aborted); // unmounting unsubscribes
});

it('useAuction exposes reserveMet, buyNowPrice and buyNowAvailable', async () => {
  const server = scriptedServer();
  const client = createOutbidClient({ baseUrl: 'http://outbid.test', fetch: server.fetch });
  function Offers() {
    const { auction } = useAuction('a1', { client });
    if (!auction) return createElement('p', null, '…');
    const reserve = auction.reserveMet === undefined ? 'no reserve' : auction.reserveMet ? 'reserve met' : 'reserve not met';
    const buyNow = auction.buyNowAvailable ? `buy now ${auction.buyNowPrice}` : 'no buy now';
    return createElement('p', null, `${reserve}; ${buyNow}`);
  }
  const container = document.createElement('div');
  const root = createRoot(container);
  await act(async () => root.render(createElement(Offers)));
  await until(() => server.streams.length === 1);
  await act(async () => {
    server.streams[0]!.send('snapshot', frame(1, { winnerId: null, reserveMet: false, buyNowPrice: 10_000, buyNowAvailable: true }));
    await until(() => container.textContent!.includes('reserve'));
  });
  expect(container.textContent).toBe('reserve not met; buy now 10000');
  await act(async () => {
    server.streams[0]!.send('bid', frame(2, { reserveMet: true, buyNowPrice: 10_000, buyNowAvailable: false }));
    await until(() => container.textContent!.includes('reserve met'));
  });
  expect(container.textContent).toBe('reserve met; no buy now');
  await act(async () => root.unmount());
});

it('useAuction without a client says how to provide one', () => {
  function Orphan() {
    useAuction('a1');
    return null;
  }
  const root = createRoot(document.createElement('div'));
  expect(() => act(() => root.render(createElement(Orphan)))).toThrow(/OutbidProvider/);
});
