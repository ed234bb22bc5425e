import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { OutbidApp } from '../src/index.js';

export async function listen(app: OutbidApp): Promise<{ base: string; close(): Promise<void> }> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export interface SseReader {
  frames: EventSourceMessage[];
  comments: string[];
  status: number;
  /** Arrival time of each frame (ms), to show frames arrive one by one. */
  arrivals: number[];
  close(): void;
  done: Promise<void>;
}

/** Reads an SSE stream over a real socket with eventsource-parser. */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const reader: SseReader = { frames: [], comments: [], arrivals: [], status: res.status, close: () => controller.abort(), done: Promise.resolve() };
  if (!res.body) return reader;
  const parser = createParser({
    onEvent: (e) => {
      reader.frames.push(e);
      reader.arrivals.push(Date.now());
    },
    onComment: (c) => reader.comments.push(c.trim()),
  });
  const decoder = new TextDecoder();
  reader.done = (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch {
      // aborted
    }
  })();
  return reader;
}
