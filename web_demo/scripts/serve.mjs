/**
 * A small static server for the demo: public/ at `/`, the two LiteRT.js packages at `/vendor/@litertjs/`.
 *
 * Usage: node scripts/serve.mjs [PORT]   (or PORT=8080 npm start); binds 127.0.0.1 only.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WEB_DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_PORT = 8000;

// URL prefix -> folder; the longest matching prefix wins. Only these folders are ever read.
const MOUNTS = [
  ['/vendor/@litertjs/core/', path.join(WEB_DEMO_DIR, 'node_modules/@litertjs/core')],
  ['/vendor/@litertjs/wasm-utils/', path.join(WEB_DEMO_DIR, 'node_modules/@litertjs/wasm-utils')],
  ['/', path.join(WEB_DEMO_DIR, 'public')],
];

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.tsv': 'text/tab-separated-values; charset=utf-8',
  '.wasm': 'application/wasm', // required by WebAssembly.instantiateStreaming
  '.tflite': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Maps a request path to a file inside one of the mounts.
 *
 * @param {string} urlPath the decoded path of the request URL.
 * @returns {string|null} an absolute file path, or null if the path escapes its mount.
 */
export function resolveFile(urlPath) {
  const [prefix, root] = MOUNTS.find(([p]) => urlPath.startsWith(p));
  const relative = urlPath.slice(prefix.length) || 'index.html';
  const file = path.resolve(root, relative.endsWith('/') ? `${relative}index.html` : relative);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

async function handle(request, response) {
  let urlPath;
  try {
    urlPath = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    response.writeHead(400).end('bad request');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = resolveFile(urlPath);
  const info = file === null ? null : await stat(file).catch(() => null);
  if (info === null || !info.isFile()) {
    response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${urlPath}`);
    return;
  }
  response.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Cache-Control': 'no-store', // the model folder is refilled in place during development
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file).pipe(response);
}

/**
 * Starts the server on 127.0.0.1.
 *
 * @param {number} port 0 picks a free port.
 * @returns {Promise<{server: import('node:http').Server, url: string}>}
 */
export function startServer(port) {
  const server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      response.destroy(error);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({ server, url: `http://127.0.0.1:${server.address().port}/` });
    });
  });
}

function parsePort(text) {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`port must be an integer in 0..65535, got "${text}"; pass it as the first argument or PORT`);
  }
  return port;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = parsePort(process.argv[2] ?? process.env.PORT ?? String(DEFAULT_PORT));
  const { url } = await startServer(port);
  console.log(`odrec web demo at ${url}  (Ctrl+C to stop)`);
}
