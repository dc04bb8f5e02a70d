// Unit tests of src/main/ensemble/quorum-options.ts: the quorum transport listens on this
// member's quorumPort, knows every member's quorum address, and bounds frames by jute.maxbuffer
// and its send queue by two frames or quorumSendQueueBytesMin, whichever is larger.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ServerConfig } from '../../../src/main/config.js';
import { quorumSendQueueBytesMin } from '../../../src/main/ensemble/limits.js';
import { quorumTlsOptions, quorumTransportOptions } from '../../../src/main/ensemble/quorum-options.js';
import { quorumFrameBytesMax } from '../../../src/main/net/transport.js';

function config(lines: string[]): ServerConfig {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-qopts-'));
  const p = join(dir, 'zoo.cfg');
  writeFileSync(p, [`dataDir=${dir}`, ...lines].join('\n'));
  return loadConfig(p);
}

const servers = ['server.1=127.0.0.1:3001:4001', 'server.2=127.0.0.2:3002:4002', 'server.3=127.0.0.3:3003:4003:observer'];
const silent = { debug() {}, info() {}, warn() {} };

test('listen on my quorumPort; every member by its quorum address; no secret, no TLS by default', () => {
  const o = quorumTransportOptions(config(servers), 2, silent);
  assert.equal(o.myId, 2);
  assert.equal(o.listenHost, '127.0.0.2');
  assert.equal(o.listenPort, 3002);
  assert.deepEqual([...o.peers], [
    [1, { host: '127.0.0.1', port: 3001 }],
    [2, { host: '127.0.0.2', port: 3002 }],
    [3, { host: '127.0.0.3', port: 3003 }],
  ]);
  assert.equal(o.secret, null);
  assert.equal(o.tls, null);
  assert.equal(quorumTlsOptions(config(servers)), null);
  assert.equal(o.logger, silent);
});

test('frame and send-queue bounds follow jute.maxbuffer', () => {
  const small = quorumTransportOptions(config(servers), 1, silent);
  assert.equal(small.frameBytesMax, quorumFrameBytesMax(0xfffff));
  assert.equal(small.sendQueueBytesMax, Math.max(2 * small.frameBytesMax!, quorumSendQueueBytesMin));
  const big = quorumTransportOptions(config(['jute.maxbuffer=104857600', ...servers]), 1, silent);
  assert.equal(big.frameBytesMax, quorumFrameBytesMax(104857600));
  assert.equal(big.sendQueueBytesMax, 2 * big.frameBytesMax!);
});

test('the quorum secret travels as UTF-8 bytes', () => {
  const o = quorumTransportOptions(config(['quorum.secret=a-quorum-secret-of-24ch', ...servers]), 1, silent);
  assert.deepEqual(o.secret, Buffer.from('a-quorum-secret-of-24ch', 'utf8'));
});

test('a myid without a server line is refused', () => {
  assert.throws(() => quorumTransportOptions(config(servers), 9, silent), /myid 9 has no server\.9 line/);
});
