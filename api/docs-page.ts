import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type RequestHandler } from 'express';

/**
 * GET /docs: Swagger UI (the `swagger-ui-dist` package) reading /openapi.json, every file served by this API from
 * node_modules, so the page works where no CDN is reachable and its "Try it out" calls stay on this origin.
 */

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
/** The files of swagger-ui-dist the page loads (and their source maps); its demo index.html, which loads the Petstore, is not served. */
const SWAGGER_UI_FILES = new Set(['swagger-ui.css', 'swagger-ui.css.map', 'swagger-ui-bundle.js', 'swagger-ui-bundle.js.map', 'favicon-32x32.png', 'favicon-16x16.png']);

const ASSETS = '/docs/assets';

// A file of its own, not an inline script, so the page's Content-Security-Policy allows scripts from this origin only.
const INITIALIZER = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  layout: 'BaseLayout',
  deepLinking: true,
  displayRequestDuration: true,
  filter: true,
  // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
  validatorUrl: null,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Client onboarding engine API</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="${ASSETS}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<noscript>This page needs JavaScript. The API's description is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</noscript>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/swagger-initializer.js"></script>
</body>
</html>
`;

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Swagger UI sets style attributes and draws its icons as data: SVGs.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page (GET /docs) and its assets (mounted at /docs/assets: files, not routes, so not in the OpenAPI document). */
export function apiReference(): { page: RequestHandler; assets: RequestHandler } {
  const files = express.static(SWAGGER_UI_DIR, { index: false, redirect: false, maxAge: '1h' });
  return {
    page: (_req, res) => {
      res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      res.type('html').send(PAGE);
    },
    assets: (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        next();
      } else if (req.path === '/swagger-initializer.js') {
        res.type('js').send(INITIALIZER);
      } else if (SWAGGER_UI_FILES.has(req.path.slice(1))) {
        files(req, res, next);
      } else {
        next();
      }
    },
  };
}
