/** A fake server for the SDK: REST answers from handlers, and streams the test writes frame by frame. */
export interface ScriptedStream {
  headers: Record<string, string>;
  send(event: string, data: Record<string, unknown>, id?: number): void;
  comment(text?: string): void;
  /** Ends the response, as a dropped connection does. */
  drop(): void;
  aborted: boolean;
}

export function frame(version: number, patch: Record<string, unknown> = {}) {
  return {
    type: 'bid', auctionId: 'a1', status: 'active', currentPrice: 1_000 + version * 10, winnerId: `b${version}`, version,
    endAt: new Date(Date.now() + 60_000).toISOString(), serverTime: new Date().toISOString(), remainingMs: 60_000, ...patch,
  };
}

export function scriptedServer(rest: (method: string, path: string, init: RequestInit) => Response | Promise<Response> = () => new Response(null, { status: 404 })) {
  const streams: ScriptedStream[] = [];
  const streamStatus: number[] = [];
  const requests: Array<{ method: string; path: string; headers: Record<string, string>; body?: string }> = [];
  const encoder = new TextEncoder();
  const fetchImpl: typeof fetch = async (input, init = {}) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const method = init.method ?? 'GET';
    requests.push({ method, path: url.pathname + url.search, headers, ...(typeof init.body === 'string' ? { body: init.body } : {}) });
    if (url.pathname.endsWith('/stream')) {
      const status = streamStatus.shift();
      if (status !== undefined && status !== 200) return new Response(null, { status });
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
      const stream: ScriptedStream = {
        headers,
        aborted: false,
        send: (event, data, id) => controller.enqueue(encoder.encode(`id: ${id ?? data.version}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
        comment: (text = 'heartbeat') => controller.enqueue(encoder.encode(`: ${text}\n\n`)),
        drop: () => {
          try {
            controller.close();
          } catch {}
        },
      };
      init.signal?.addEventListener('abort', () => {
        stream.aborted = true;
        try {
          controller.error(new DOMException('aborted', 'AbortError'));
        } catch {}
      });
      streams.push(stream);
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    return rest(method, url.pathname + url.search, init);
  };
  return { fetch: fetchImpl, streams, streamStatus, requests };
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': status >= 400 && status !== 409 ? 'application/problem+json' : 'application/json', ...headers } });

export async function until(check: () => boolean, timeoutMs = 2_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
