import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_KINDS, planFaults } from '../src/faults.js';
import { startProxy, type FaultProxy } from '../src/proxy.js';
import { createRng } from '../src/rng.js';

describe('the fault schedule', () => {
  it('is the same for the same seed, and has every kind of fault', () => {
    const plan = (seed: number) => planFaults(createRng(seed).fork('faults'), { fromMs: 6_000, untilMs: 69_000, gapMs: [5_000, 8_000] });
    expect(plan(42)).toEqual(plan(42));
    expect(plan(42)).not.toEqual(plan(43));
    expect(new Set(plan(42).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
  });
});

describe('the fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;
  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = await startProxy('echo', (echo.address() as { port: number }).port);
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });

  const connect = () =>
    new Promise<{ send(text: string): Promise<string>; closed: Promise<void> }>((ready) => {
      const socket = createConnection({ host: '127.0.0.1', port: proxy.port }, () => {
        const closed = new Promise<void>((r) => socket.once('close', () => r()));
        socket.on('error', () => {});
        ready({ send: (text) => new Promise((got) => (socket.once('data', (d) => got(d.toString())), socket.write(text))), closed });
      });
    });

  it('forwards, holds every byte during a stall, then delivers them', async () => {
    const client = await connect();
    expect(await client.send('one')).toBe('one');
    const stall = proxy.stall(300);
    const started = Date.now();
    expect(await client.send('two')).toBe('two');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await stall;
  });

  it('cuts every open connection, and refuses new ones while its target is down', async () => {
    const client = await connect();
    expect(proxy.cut()).toBeGreaterThanOrEqual(1);
    await client.closed;
    proxy.setTarget(null);
    const refused = await connect();
    await refused.closed;
    proxy.setTarget((echo.address() as { port: number }).port);
    expect(await (await connect()).send('back')).toBe('back');
  });
});
