/**
 * Unit tests for scripts/serve.mjs: path mapping, confinement to its folders, content types.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { resolveFile, startServer } from '../../scripts/serve.mjs';

const WEB_DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('resolveFile', () => {
  it('maps / to public/index.html', () => {
    assert.equal(resolveFile('/'), path.join(WEB_DEMO_DIR, 'public/index.html'));
  });

  it('maps the vendor prefix into node_modules', () => {
    assert.equal(resolveFile('/vendor/@litertjs/core/wasm/litert_wasm_internal.wasm'),
      path.join(WEB_DEMO_DIR, 'node_modules/@litertjs/core/wasm/litert_wasm_internal.wasm'));
  });

  it('refuses paths that climb out of their folder', () => {
    assert.equal(resolveFile('/../package.json'), null);
    assert.equal(resolveFile('/vendor/@litertjs/core/../../../package.json'), null);
  });
});

describe('startServer', () => {
  let server;
  let url;
  before(async () => {
    ({ server, url } = await startServer(0));
  });
  after(() => server.close());

  it('binds 127.0.0.1 and serves the page and wasm with their content types', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    const wasm = await fetch(`${url}vendor/@litertjs/core/wasm/litert_wasm_internal.wasm`, { method: 'HEAD' });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  });

  it('answers 404 for a missing file and for an escaping path', async () => {
    assert.equal((await fetch(`${url}nope.js`)).status, 404);
    assert.equal((await fetch(`${url}%2e%2e/package.json`)).status, 404);
  });
});
