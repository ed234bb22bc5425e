/**
 * The floor for `pnpm bench fanout`: plain node:http, no framework, no auth, no engine, no ledger. It holds SSE
 * responses in a Set and writes each bid's frame to all of them at once. What this costs per viewer (RSS) and per
 * frame (delivery) is what Node itself costs on this machine; Outbid's figures are read against it.
 * Prints the line the bench harness waits for, then serves until SIGTERM.
 */
import { createServer, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

const viewers = new Set<ServerResponse>();
const auctions = new Map<string, { version: number; price: number }>();
const frame = (event: string, id: string, a: { version: number; price: number }) =>
  `id: ${a.version}\nevent: ${event}\ndata: ${JSON.stringify({ auctionId: id, version: a.version, currentPrice: a.price })}\n\n`;

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  const [, first, id, action] = path.split('/');
  if (path === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
  if (req.method === 'POST' && path === '/auctions') {
    req.resume().once('end', () => {
      const auctionId = randomUUID();
      auctions.set(auctionId, { version: 1, price: 100 });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: auctionId }));
    });
    return;
  }
  const auction = first === 'auctions' && id ? auctions.get(id) : undefined;
  if (!auction) return void res.writeHead(404).end();
  if (req.method === 'GET' && action === 'stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(`retry: 2000\n\n${frame('snapshot', id!, auction)}`);
    viewers.add(res);
    res.once('close', () => viewers.delete(res));
    return;
  }
  if (req.method === 'POST' && action === 'bids') {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.once('end', () => {
      const { amount } = JSON.parse(body) as { amount: number };
      auction.version++;
      auction.price = amount;
      const bytes = Buffer.from(frame('bid', id!, auction));
      for (const viewer of viewers) viewer.write(bytes);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'accepted', version: auction.version }));
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: 'Outbid server listening (bare node:http SSE floor)', url: `http://127.0.0.1:${port}` }));
});
process.once('SIGTERM', () => {
  for (const viewer of viewers) viewer.destroy();
  server.close(() => process.exit(0));
});
