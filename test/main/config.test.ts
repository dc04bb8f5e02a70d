import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, ensembleObserverMasters, loadConfig, parseConfigText } from '../../src/main/config.js';

function cfgFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-cfg-'));
  const p = join(dir, 'zoo.cfg');
  writeFileSync(p, text);
  return p;
}

test('the embedded default: standalone on 127.0.0.1:2181, data under ./data', () => {
  const c = loadConfig(null);
  assert.equal(c.clientPort, 2181);
  assert.equal(c.clientPortAddress, '127.0.0.1');
  assert.equal(c.dataDir, resolve('data'));
  assert.equal(c.dataLogDir, c.dataDir);
  assert.equal(c.tickTimeMs, 2000);
  assert.equal(c.minSessionTimeoutMs, 4000);
  assert.equal(c.maxSessionTimeoutMs, 40000);
  assert.equal(c.maxClientCnxns, 60);
  assert.equal(c.juteMaxBufferBytes, 1048575);
  assert.equal(c.localSessionsEnabled, false);
  assert.deepEqual(c.fourLetterWhitelist, ['srvr'], "ZooKeeper's default whitelist");
  assert.ok(c.sessionWorkers >= 1);
  assert.deepEqual(c.servers, []);
});

test('zoo.cfg keys, comments and blank lines; session timeouts default to 2 and 20 ticks', () => {
  const c = loadConfig(
    cfgFile(
      [
        '# a comment',
        '',
        'tickTime=200',
        'clientPort=21234',
        'dataDir=/tmp/zkts-a',
        'dataLogDir=/tmp/zkts-b',
        'maxClientCnxns=0',
        'localSessionsEnabled=true',
        'localSessionsUpgradingEnabled=true',
        '4lw.commands.whitelist=ruok, srvr , mntr',
        'extendedTypesEnabled=true',
        'jute.maxbuffer=2048',
        'znode.container.checkIntervalMs=100',
        'sessionWorkers=3',
        'server.1=127.0.0.1:2888:3888',
        'server.2=127.0.0.2:2888:3888:observer;2182',
      ].join('\n'),
    ),
  );
  assert.equal(c.tickTimeMs, 200);
  assert.equal(c.minSessionTimeoutMs, 400);
  assert.equal(c.maxSessionTimeoutMs, 4000);
  assert.equal(c.clientPort, 21234);
  assert.equal(c.dataDir, '/tmp/zkts-a');
  assert.equal(c.dataLogDir, '/tmp/zkts-b');
  assert.equal(c.maxClientCnxns, 0);
  assert.equal(c.localSessionsEnabled, true);
  assert.equal(c.localSessionsUpgradingEnabled, true);
  assert.deepEqual(c.fourLetterWhitelist, ['ruok', 'srvr', 'mntr']);
  assert.equal(c.extendedTypesEnabled, true);
  assert.equal(c.juteMaxBufferBytes, 2048);
  assert.equal(c.containerCheckIntervalMs, 100);
  assert.equal(c.sessionWorkers, 3);
  assert.deepEqual(c.servers, [
    { id: 1, host: '127.0.0.1', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: null },
    { id: 2, host: '127.0.0.2', quorumPort: 2888, electionPort: 3888, role: 'observer', clientPort: 2182 },
  ]);
});

test('unknown keys are kept for a log line, not an error', () => {
  const c = loadConfig(cfgFile('clientPort=2181\nnoSuchKey=1\nautopurge.purgeInterval=1\nsnapCount=10\n'));
  assert.deepEqual(c.ignoredKeys, ['noSuchKey']);
  assert.equal(c.purgeIntervalHours, 1);
  assert.equal(c.snapCount, 10);
});

test('invalid values stop start-up with every problem listed', () => {
  const path = cfgFile(
    [
      'clientPort=notaport',
      'tickTime=-5',
      'maxClientCnxns=abc',
      'localSessionsEnabled=yes',
      'minSessionTimeout=9000',
      'maxSessionTimeout=100',
      'server.1=nonsense',
      'peerType=voter',
      'logLevel=loud',
    ].join('\n'),
  );
  assert.throws(
    () => loadConfig(path),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const all = e.problems.join('\n');
      for (const key of ['clientPort', 'tickTime', 'maxClientCnxns', 'localSessionsEnabled', 'minSessionTimeout', 'server.1', 'peerType', 'logLevel']) {
        assert.ok(all.includes(key), `a problem mentions ${key}:\n${all}`);
      }
      assert.ok(e.problems.length >= 8, all);
      return true;
    },
  );
});

test('sessionWorkers=0 (sessions on the main thread, issue 11) is accepted; below 0 is not', () => {
  assert.equal(loadConfig(cfgFile('sessionWorkers=0\n')).sessionWorkers, 0);
  assert.throws(() => loadConfig(cfgFile('sessionWorkers=-1\n')), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.includes('sessionWorkers')));
});

test('a line that is not key=value, and a missing file, are config errors', () => {
  assert.throws(() => parseConfigText('clientPort 2181', 'x.cfg'), ConfigError);
  assert.throws(() => loadConfig('/nonexistent/zoo.cfg'), /cannot read/);
});

test('observerMasterPort: observers get voters round robin; without it, none', () => {
  const servers = [
    'server.1=127.0.0.1:3001:4001',
    'server.2=127.0.0.1:3002:4002',
    'server.3=127.0.0.1:3003:4003',
    'server.4=127.0.0.1:3004:4004:observer',
    'server.5=127.0.0.1:3005:4005:observer',
    'server.6=127.0.0.1:3006:4006:observer',
    'server.7=127.0.0.1:3007:4007:observer',
  ];
  const on = loadConfig(cfgFile(['dataDir=/tmp/zkts-om', 'observerMasterPort=2191', ...servers].join('\n')));
  assert.equal(on.observerMasterPort, 2191);
  assert.deepEqual([...ensembleObserverMasters(on)], [
    [4, 1],
    [5, 2],
    [6, 3],
    [7, 1],
  ]);
  assert.ok(!on.ignoredKeys.includes('observerMasterPort'));
  const off = loadConfig(cfgFile(['dataDir=/tmp/zkts-om', ...servers].join('\n')));
  assert.equal(ensembleObserverMasters(off).size, 0);
});

test('superDigest: none by default; it must be super:<base64 SHA-1>', () => {
  assert.equal(loadConfig(null).superDigest, null);
  const c = loadConfig(cfgFile('DigestAuthenticationProvider.superDigest=super:xQJmxLMiHGwaqBvst5y6rkB6HQs=\n'));
  assert.equal(c.superDigest, 'super:xQJmxLMiHGwaqBvst5y6rkB6HQs=');
  assert.deepEqual(c.ignoredKeys, []);
  assert.throws(() => loadConfig(cfgFile('DigestAuthenticationProvider.superDigest=super:admin\n')), ConfigError);
  assert.throws(() => loadConfig(cfgFile('DigestAuthenticationProvider.superDigest=alice:xQJmxLMiHGwaqBvst5y6rkB6HQs=\n')), ConfigError);
});

test('enforceQuota: off by default, true or false', () => {
  assert.equal(loadConfig(null).enforceQuota, false);
  const c = loadConfig(cfgFile('enforceQuota=true\n'));
  assert.equal(c.enforceQuota, true);
  assert.deepEqual(c.ignoredKeys, []);
  assert.throws(() => loadConfig(cfgFile('enforceQuota=yes\n')), ConfigError);
});

test('clientPortListenBacklog (issue 11): the kernel cap by default, a positive integer, -1 = default', () => {
  assert.equal(loadConfig(null).clientPortListenBacklog, 65535, 'asks for all Linux allows (somaxconn)');
  assert.equal(loadConfig(cfgFile('clientPortListenBacklog=100\n')).clientPortListenBacklog, 100);
  assert.equal(loadConfig(cfgFile('clientPortListenBacklog=-1\n')).clientPortListenBacklog, 65535, "ZooKeeper's 'unset'");
  for (const bad of ['0', '-5', 'many', '1.5']) {
    assert.throws(() => loadConfig(cfgFile(`clientPortListenBacklog=${bad}\n`)), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /clientPortListenBacklog/);
      return true;
    });
  }
});

test("connection throttle keys (issue 11): ZooKeeper's defaults (off), both spellings, every bad value listed", () => {
  const d = loadConfig(null).connThrottle;
  assert.deepEqual(d, {
    tokens: 0,
    fillTimeMs: 1,
    fillCount: 1,
    freezeTimeMs: -1,
    dropIncrease: 0.02,
    dropDecrease: 0.002,
    decreaseRatio: 0,
    weightEnabled: false,
    globalSessionWeight: 3,
    localSessionWeight: 1,
    renewSessionWeight: 2,
  });
  const c = loadConfig(
    cfgFile(
      [
        'connThrottleTokens=100',
        'connThrottleFillTime=10',
        'connThrottleFillCount=5',
        'connThrottleFreezeTime=50',
        'connThrottleDropIncrease=0.1',
        'connection_throttle_drop_decrease=0.01',
        'connThrottleDecreaseRatio=0.5',
        'connThrottleWeightEnabled=true',
        'connThrottleGlobalSessionWeight=4',
        'connThrottleLocalSessionWeight=1',
        'connThrottleRenewSessionWeight=3',
      ].join('\n'),
    ),
  );
  assert.deepEqual(c.connThrottle, {
    tokens: 100,
    fillTimeMs: 10,
    fillCount: 5,
    freezeTimeMs: 50,
    dropIncrease: 0.1,
    dropDecrease: 0.01,
    decreaseRatio: 0.5,
    weightEnabled: true,
    globalSessionWeight: 4,
    localSessionWeight: 1,
    renewSessionWeight: 3,
  });
  assert.deepEqual(c.ignoredKeys, [], "ZooKeeper's connection_throttle_* spelling is read, not ignored");
  const bad = [
    'connThrottleTokens=-1',
    'connThrottleFillTime=0',
    'connThrottleDropIncrease=lots',
    'connThrottleWeightEnabled=yes',
    'connection_throttle_tokens=5',
  ];
  assert.throws(() => loadConfig(cfgFile(bad.join('\n'))), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /connThrottleTokens and connection_throttle_tokens/);
    assert.match(e.message, /connThrottleFillTime=0/);
    assert.match(e.message, /connThrottleDropIncrease=lots: not a number/);
    assert.match(e.message, /connThrottleWeightEnabled=yes/);
    return true;
  });
  assert.throws(() => loadConfig(cfgFile('connThrottleDropDecrease=1.5\n')), /connThrottleDropDecrease=1.5: must be a number in \[0, 1\]/);
  assert.throws(
    () => loadConfig(cfgFile('connThrottleLocalSessionWeight=3\nconnThrottleRenewSessionWeight=2\n')),
    /must not be below connThrottleLocalSessionWeight/,
  );
});

test('youngGenerationFixed: off by default, true or false', () => {
  assert.equal(loadConfig(null).youngGenerationFixed, false);
  assert.equal(loadConfig(cfgFile('youngGenerationFixed=true\n')).youngGenerationFixed, true);
  assert.throws(() => loadConfig(cfgFile('youngGenerationFixed=1\n')), ConfigError);
});

test('webSocketPort, webSocketPath, webSocketAddress: the WebSocket client transport (off by default)', () => {
  assert.equal(loadConfig(null).webSocket, null);
  assert.equal(loadConfig(cfgFile('dataDir=/tmp/zkts-ws\nwebSocketPort=0\n')).webSocket, null);
  assert.deepEqual(loadConfig(cfgFile('dataDir=/tmp/zkts-ws\nclientPortAddress=127.0.0.2\nwebSocketPort=8081\n')).webSocket, {
    host: '127.0.0.2',
    port: 8081,
    path: '/zookeeper',
  });
  assert.deepEqual(
    loadConfig(cfgFile('dataDir=/tmp/zkts-ws\nwebSocketPort=8081\nwebSocketPath=/zk/v1\nwebSocketAddress=0.0.0.0\n')).webSocket,
    { host: '0.0.0.0', port: 8081, path: '/zk/v1' },
  );
  for (const bad of ['webSocketPort=70000', 'webSocketPort=x', 'webSocketPort=1\nwebSocketPath=zk', 'webSocketPort=1\nwebSocketPath=/a?b']) {
    assert.throws(() => loadConfig(cfgFile(`dataDir=/tmp/zkts-ws\n${bad}\n`)), ConfigError, bad);
  }
});
