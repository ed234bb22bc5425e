import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';

/** Swagger UI's files, served from the installed `swagger-ui-dist` (no CDN: the docs work offline and behind a CSP). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'init.js': 'text/javascript; charset=utf-8',
};

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#api', deepLinking: true, tryItOutEnabled: false });\n`;

/** The API reference at `/docs`: Swagger UI rendering `/openapi.json`. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outbid API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<noscript>The machine-readable contract is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="api"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

let uiDir: string | null = null;
// CJS builds have no import.meta.url; __filename stands in there.
const here = () => (typeof __filename === 'string' ? __filename : import.meta.url);
const swaggerUiDir = () => (uiDir ??= dirname(createRequire(here()).resolve('swagger-ui-dist/package.json')));

export function mountDocs(app: Hono<any>): void {
  app.get('/docs', (c) => c.html(DOCS_PAGE));
  app.get('/docs/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) return c.notFound();
    const body = file === 'init.js' ? INIT : await readFile(join(swaggerUiDir(), file));
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  });
}
