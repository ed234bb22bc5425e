import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Hono } from 'hono';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json' };

/** The demo page's build (examples/live-auction/dist in this repository), or null when it is not built. */
export function findDemoDir(explicit?: string): string | null {
  const candidates = explicit ? [explicit] : [resolve(import.meta.dirname, '../../../examples/live-auction/dist')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}

/** Serves the demo: `/` is its index.html, `/assets/<file>` its bundle. Nothing else is reachable. */
export function mountDemo(app: Hono<any>, dir: string): void {
  app.get('/', async (c) => c.html(await readFile(join(dir, 'index.html'), 'utf8')));
  app.get('/assets/:file', async (c) => {
    const file = c.req.param('file');
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.')) return c.notFound();
    const ext = file.slice(file.lastIndexOf('.'));
    try {
      return c.body(await readFile(join(dir, 'assets', file)), 200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' });
    } catch {
      return c.notFound();
    }
  });
}
