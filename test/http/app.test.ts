// The HTTP/WebSocket adapter (src/http): the same routes and sockets on both engines.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { createHttpApp, type HttpEngineName, loadUws, routeMatches } from '../../src/http/app.js';
import { httpRequestBodyBytesMax } from '../../src/http/limits.js';
import type { WsSocket } from '../../src/http/socket.js';

const quietLog = { info() {}, warn() {}, error() {} };

const engines: HttpEngineName[] = ['uws' in loadUws() ? 'uws' : null, 'node'].filter((e): e is HttpEngineName => e !== null);

describe('routeMatches', () => {
  it('matches exact paths and /* prefixes', () => {
    assert.equal(routeMatches('/metrics', '/metrics'), true);
    assert.equal(routeMatches('/metrics', '/metrics/x'), false);
    assert.equal(routeMatches('/commands/*', '/commands/ruok'), true);
    assert.equal(routeMatches('/commands/*', '/commands'), true);
    assert.equal(routeMatches('/commands/*', '/commandsx'), false);
  });
});

for (const engine of engines) {
  describe(`HttpApp on ${engine}`, () => {
    it('serves sync and async routes, 404s, handler failures and HEAD', async () => {
      const { app } = await createHttpApp(engine, quietLog);
      assert.equal(app.engine, engine);
      app.get('/a', (req) => ({ status: 200, body: `a ${req.query.get('x') ?? ''} ${req.remoteAddress}` }));
      app.get('/p/*', async (req) => ({ status: 200, body: JSON.stringify({ path: req.path }), contentType: 'application/json' }));
      app.get('/boom', () => {
        throw new Error('boom');
      });
      app.get('/later-boom', async () => {
        throw new Error('later');
      });
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const base = `http://127.0.0.1:${port}`;
        let r = await fetch(`${base}/a?x=1`);
        assert.equal(r.status, 200);
        assert.equal(await r.text(), 'a 1 127.0.0.1');
        r = await fetch(`${base}/p/q/r`);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.deepEqual(await r.json(), { path: '/p/q/r' });
        r = await fetch(`${base}/nothing`);
        assert.equal(r.status, 404);
        await r.text();
        r = await fetch(`${base}/boom`);
        assert.equal(r.status, 500);
        await r.text();
        r = await fetch(`${base}/later-boom`);
        assert.equal(r.status, 500);
        await r.text();
        r = await fetch(`${base}/a`, { method: 'HEAD' });
        assert.equal(r.status, 200);
        assert.equal(await r.text(), '');
        r = await fetch(`${base}/a`, { method: 'POST', body: 'x' });
        assert.equal(r.status, 404);
        await r.text();
      } finally {
        await app.close();
      }
      // closed: the port no longer answers
      await assert.rejects(fetch(`http://127.0.0.1:${port}/a`));
    });

    it('carries binary WebSocket messages both ways, and closes them on close()', async () => {
      const { app } = await createHttpApp(engine, quietLog);
      const events: string[] = [];
      let server: WsSocket | null = null;
      let serverClosed: () => void = () => {};
      const serverSawClose = new Promise<void>((resolve) => {
        serverClosed = resolve;
      });
      app.ws('/ws', {
        open(ws, req) {
          server = ws;
          events.push(`open ${req.path} ${ws.remoteAddress}`);
        },
        message(ws, data, binary) {
          // echo reversed, to show the bytes were read
          ws.send(Uint8Array.from(data).reverse(), binary);
        },
        close(_ws, code) {
          events.push(`close ${code}`);
          serverClosed();
        },
      });
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
      const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((resolve, reject) => {
        client.once('open', resolve);
        client.once('error', reject);
      });
      const reply = new Promise<Buffer>((resolve) => client.once('message', (d: Buffer) => resolve(d)));
      client.send(Buffer.from([1, 2, 3]));
      assert.deepEqual([...(await reply)], [3, 2, 1]);
      assert.ok(server !== null);
      const closed = new Promise<number>((resolve) => client.once('close', (code: number) => resolve(code)));
      (server as WsSocket).end(4000, 'bye');
      assert.equal(await closed, 4000);
      await serverSawClose;
      assert.deepEqual(events, ['open /ws 127.0.0.1', 'close 4000']);

      // a wrong path is refused, and close() ends open sockets
      const wrong = new WebSocket(`ws://127.0.0.1:${port}/nope`);
      await new Promise<void>((resolve) => wrong.once('error', () => resolve()));
      const second = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((resolve) => second.once('open', resolve));
      const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
      await app.close();
      await secondClosed;
      } finally {
        await app.close();
      }
    });
  });
}

describe('HttpApp on node: request bodies', () => {
  it('drains a small body and answers; cuts a connection whose body runs past httpRequestBodyBytesMax', async () => {
    const { app } = await createHttpApp('node', quietLog);
    app.any('/x', () => ({ status: 200, body: 'ok' }));
    const port = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const small = await fetch(`http://127.0.0.1:${port}/x`, { method: 'POST', body: 'a'.repeat(1000) });
      assert.equal(await small.text(), 'ok');
      // A body past the bound: the connection is cut before the client has sent it all.
      const total = 4 * httpRequestBodyBytesMax;
      const sentAtClose = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/x', method: 'POST', headers: { 'content-length': String(total) } });
        let sent = 0;
        req.on('error', () => {});
        req.on('close', () => resolve(sent));
        req.on('response', (res) => res.resume());
        const chunk = Buffer.alloc(16 << 10);
        const more = (): void => {
          if (sent >= total || req.destroyed) return;
          req.write(chunk, (err) => {
            if (err) return;
            sent += chunk.length;
            setImmediate(more);
          });
        };
        more();
      });
      // Drained to the end, the whole body would have gone out; cut, it stops short of it.
      assert.ok(sentAtClose < total, `${sentAtClose} of ${total} bytes went out before the close`);
    } finally {
      await app.close();
    }
  });
});

