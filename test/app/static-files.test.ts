import assert from 'node:assert/strict';
import { test } from 'node:test';

import { contentTypeFor, resolveStaticPath } from '../../app/static-files';

const root = '/srv/web';

test('resolveStaticPath maps paths under the root', () => {
  assert.equal(resolveStaticPath(root, '/'), '/srv/web/index.html');
  assert.equal(resolveStaticPath(root, '/assets/index-abc.js'), '/srv/web/assets/index-abc.js');
  assert.equal(resolveStaticPath(root, '/assets/a%20b.js?v=1'), '/srv/web/assets/a b.js');
});

test('resolveStaticPath rejects traversal', () => {
  for (const path of ['/../etc/passwd', '/assets/../../x', '/%2e%2e/x', '/a/%2E%2E/%2E%2E/x', '/a%5c..%5cx', '/a%00.js', '/%E0%A4%A']) {
    assert.equal(resolveStaticPath(root, path), null, `accepted ${path}`);
  }
});

test('contentTypeFor knows the build outputs', () => {
  assert.match(contentTypeFor('/x/index.html'), /^text\/html/);
  assert.match(contentTypeFor('/x/a.JS'), /^text\/javascript/);
  assert.equal(contentTypeFor('/x/decoder.wasm'), 'application/wasm');
  assert.equal(contentTypeFor('/x/unknown.bin'), 'application/octet-stream');
});
