// Unit tests of src/main/admin/commands.ts: ZooKeeper 3.8's command names and aliases, the
// whitelist rule, and the answers that need no running server (trace mask, the ensemble commands
// over stub figures, leader and zabstate standalone).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AdminSources,
  adminCommand,
  adminCommands,
  type EnsembleFacts,
  notWhitelisted,
  primaryNames,
  readInitialConfig,
  whitelistAllows,
} from '../../../src/main/admin/commands.js';
import { DigestLog } from '../../../src/main/admin/digest-log.js';
import { jacksonJson } from '../../../src/main/admin/json.js';
import { loadConfig, type ServerConfig } from '../../../src/main/config.js';
import type { FourLetterWords } from '../../../src/main/four-letter.js';

/** Commands.java (release-3.8.0): each command's names, primary first. */
const zookeeper38: readonly (readonly string[])[] = [
  ['connection_stat_reset', 'crst'],
  ['configuration', 'conf', 'config'],
  ['connections', 'cons'],
  ['hash'],
  ['dirs'],
  ['dump'],
  ['environment', 'env', 'envi'],
  ['get_trace_mask', 'gtmk'],
  ['initial_configuration', 'icfg'],
  ['is_read_only', 'isro'],
  ['last_snapshot', 'lsnp'],
  ['leader', 'lead'],
  ['monitor', 'mntr'],
  ['observer_connection_stat_reset', 'orst'],
  ['ruok'],
  ['set_trace_mask', 'stmk'],
  ['server_stats', 'srvr'],
  ['stats', 'stat'],
  ['stat_reset', 'srst'],
  ['observers', 'obsr'],
  ['system_properties', 'sysp'],
  ['voting_view'],
  ['watches', 'wchc'],
  ['watches_by_path', 'wchp'],
  ['watch_summary', 'wchs'],
  ['zabstate'],
];

test("every 3.8 command under each of its names, and the same primary names", () => {
  for (const names of zookeeper38) {
    for (const n of names) assert.equal(adminCommand(n)?.names[0], names[0], n);
  }
  assert.deepEqual(primaryNames(), zookeeper38.map((n) => n[0]).sort());
  assert.equal(adminCommands.length, zookeeper38.length);
  assert.equal(adminCommand('digest'), undefined, '3.8 has no digest alias');
  assert.equal(adminCommand('nope'), undefined);
});

test('state changes and dump/cons go through the 4lw whitelist; others do not', () => {
  const gated = adminCommands.filter((c) => c.whitelistWord !== undefined).map((c) => `${c.names[0]}:${c.whitelistWord}`);
  assert.deepEqual(gated.sort(), [
    'connection_stat_reset:crst',
    'connections:cons',
    'dump:dump',
    'observer_connection_stat_reset:crst',
    'set_trace_mask:stmk',
    'stat_reset:srst',
  ]);
  assert.equal(whitelistAllows(['srvr'], 'dump'), false);
  assert.equal(whitelistAllows(['srvr', ' dump'], 'dump'), true);
  assert.equal(whitelistAllows(['*'], 'stmk'), true);
  assert.equal(whitelistAllows([], 'srvr'), true, 'srvr is always enabled');
  assert.equal(notWhitelisted('crst'), 'crst is not executed because it is not in the whitelist.');
});

const cfg: ServerConfig = {
  ...loadConfig(null),
  clientPort: 2181,
  clientPortAddress: '127.0.0.1',
  servers: [
    { id: 1, host: '10.0.0.1', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: null },
    { id: 2, host: '10.0.0.2', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 },
    { id: 3, host: '10.0.0.3', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: null },
    { id: 4, host: '10.0.0.4', quorumPort: 2888, electionPort: 3888, role: 'observer', clientPort: null },
  ],
};

function sources(ensemble: EnsembleFacts | null, myId = 0): AdminSources {
  const words = { traceMask: 306 } as unknown as FourLetterWords;
  return {
    cfg,
    words,
    ensemble,
    myId,
    digests: new DigestLog(),
    initialConfig: '',
    lastZxid: () => 0x300000007,
    nodeCount: () => 4,
    storageMetrics: () => ({}),
  };
}

const run = async (name: string, src: AdminSources, kw: Record<string, string> = {}) =>
  await adminCommand(name)!.run(src, new Map(Object.entries(kw)));

test('set_trace_mask: ZooKeeper\'s errors for a missing or bad argument; get_trace_mask reads it back', async () => {
  const src = sources(null);
  assert.deepEqual(await run('gtmk', src), { tracemask: 306 });
  assert.deepEqual(await run('stmk', src), { error: 'setTraceMask requires long traceMask argument' });
  assert.deepEqual(await run('stmk', src, { traceMask: 'x1' }), { error: 'setTraceMask requires long traceMask argument, got x1' });
  assert.deepEqual(await run('stmk', src, { traceMask: '9223372036854775808' }), {
    error: 'setTraceMask requires long traceMask argument, got 9223372036854775808',
  });
  assert.deepEqual(await run('stmk', src, { traceMask: '12' }), { tracemask: 12n });
  assert.deepEqual(await run('gtmk', src), { tracemask: 12 });
});

test('standalone: leader is an error, zabstate empty, no voting view, no observers', async () => {
  const src = sources(null);
  assert.deepEqual(await run('lead', src), { error: 'server is not initialized' });
  assert.deepEqual(await run('zabstate', src), { voting: false, zabstate: '' });
  assert.equal(jacksonJson(await run('voting_view', src)), '{\n  "current_config" : { }\n}');
  assert.deepEqual(await run('obsr', src), { synced_observers: 0, observers: [] });
  assert.deepEqual(await run('isro', src), { read_only: false });
});

function facts(mode: string): EnsembleFacts {
  return {
    mode: () => mode,
    leaderId: () => 2,
    zabState: () => 'broadcast',
    fedLearners: () => [
      { id: 1, observer: false, active: true, lastZxid: 7, sinceMs: 1000 },
      { id: 4, observer: true, active: true, lastZxid: 0x300000007, sinceMs: 2000 },
    ],
    proposalSizeStats: () => ({ last: 10, min: 5, max: 20 }),
  };
}

test('ensemble: leader, observers (active observers only), voting view (voters only)', async () => {
  const leader = sources(facts('leader'), 2);
  assert.deepEqual(await run('leader', leader), { is_leader: true, leader_id: 2, leader_ip: '10.0.0.2' });
  assert.deepEqual(await run('leader', sources(facts('follower'), 1)), { is_leader: false, leader_id: 2, leader_ip: '10.0.0.2' });
  const obsr = (await run('observers', leader)) as { synced_observers: number; observers: Record<string, unknown>[] };
  assert.equal(obsr.synced_observers, 1);
  assert.deepEqual(Object.keys(obsr.observers[0]!), [
    'remote_socket_address',
    'sid',
    'established',
    'queued_packets',
    'queued_packets_size',
    'packets_received',
    'packets_sent',
    'requests',
    'last_zxid',
  ]);
  assert.equal(obsr.observers[0]!['sid'], 4);
  assert.deepEqual(await run('observers', sources(facts('observer'), 4)), { synced_observers: 0, observers: [] });
  const view = JSON.parse(jacksonJson(await run('voting_view', sources(facts('follower'), 1)))) as { current_config: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(view.current_config), ['1', '2', '3']);
  assert.deepEqual(view.current_config['1'], {
    server_addresses: ['10.0.0.1:2888'],
    election_addresses: ['10.0.0.1:3888'],
    client_address: '127.0.0.1:2181',
    learner_type: 'participant',
  });
  assert.equal(view.current_config['2']!['client_address'], '10.0.0.2:2181');
  assert.equal(view.current_config['3']!['client_address'], '');
});

test('zabstate of a member: its addresses, vote, zxid split, Zab phase', async () => {
  const z = JSON.parse(jacksonJson(await run('zabstate', sources(facts('observer'), 4)))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(z), [
    'myid',
    'is_leader',
    'quorum_address',
    'election_address',
    'client_address',
    'voting',
    'last_zxid',
    'zab_epoch',
    'zab_counter',
    'zabstate',
  ]);
  assert.equal(z['voting'], false);
  assert.equal(z['last_zxid'], '0x300000007');
  assert.equal(z['zab_epoch'], 3);
  assert.equal(z['zab_counter'], 7);
  assert.equal((z['quorum_address'] as Record<string, unknown>)['one'], '10.0.0.4:2888');
  assert.equal(z['client_address'], '127.0.0.1:2181');
});

test('initial_configuration is the config file as read; none gives empty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-icfg-'));
  try {
    writeFileSync(join(dir, 'zoo.cfg'), 'tickTime=2000\ndataDir=/x\n');
    assert.equal(readInitialConfig(join(dir, 'zoo.cfg')), 'tickTime=2000\ndataDir=/x\n');
    assert.equal(readInitialConfig('embedded default'), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
