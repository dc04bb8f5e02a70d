// Unit tests of src/main/admin/routes.ts on both HTTP engines: the command list, a command's
// JSON with "command" and "error", an unknown command (200, as Jetty's servlet answers it), a
// command off the 4lw whitelist (403), an ensemble member still electing, HEAD, TRACE, other
// methods (405), bad percent-encoding (400), other paths (404).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApp, type HttpEngineName, loadUws } from '../../../src/http/app.js';
import type { AdminSources } from '../../../src/main/admin/commands.js';
import { DigestLog } from '../../../src/main/admin/digest-log.js';
import { commandList, commandResponse, mountAdminCommands } from '../../../src/main/admin/routes.js';
import { loadConfig } from '../../../src/main/config.js';
import type { FourLetterWords } from '../../../src/main/four-letter.js';
import { createLogger } from '../../../src/main/logger.js';

const engines: HttpEngineName[] = ['uws' in loadUws() ? 'uws' : null, 'node'].filter((e): e is HttpEngineName => e !== null);
const quietLog = { info() {}, warn() {}, error() {} };

const sources: AdminSources = {
  cfg: loadConfig(null),
  words: { traceMask: 306 } as unknown as FourLetterWords,
  ensemble: null,
  myId: 0,
  digests: new DigestLog(),
  initialConfig: 'tickTime=2000\n',
  lastZxid: () => 0,
  nodeCount: () => 4,
  storageMetrics: () => ({}),
};

it('commandResponse: fields, then command and error; a command\'s own error stays first', () => {
    assert.deepEqual(Object.keys(JSON.parse(commandResponse('dirs', { datadir_size: 1 }, null))), ['datadir_size', 'command', 'error']);
    const lead = commandResponse('leader', { error: 'server is not initialized' }, null);
    assert.equal(lead, '{\n  "error" : "server is not initialized",\n  "command" : "leader"\n}');
    assert.ok(commandList('/commands').startsWith('<a href="/commands/configuration">configuration</a>\n<br/>\n'));
    assert.ok(commandList('/').startsWith('<a href="/configuration">'));
});

for (const engine of engines) {
  describe(`AdminServer routes on ${engine}`, () => {
    it('answers commands, lists, refusals and bad requests', async () => {
      const { app } = await createHttpApp(engine, quietLog);
      let serving = true;
      mountAdminCommands(app, {
        commandUrl: '/commands',
        sources,
        whitelist: ['srvr', 'ruok'],
        serving: () => serving,
        logger: createLogger('silent', 'test'),
      });
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${port}`;
      try {
        let r = await fetch(`${base}/commands/ruok`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), 'application/json');
        assert.equal(await r.text(), '{\n  "command" : "ruok",\n  "error" : null\n}');

        r = await fetch(`${base}/commands/icfg`);
        assert.deepEqual(await r.json(), { initial_configuration: 'tickTime=2000\n', command: 'initial_configuration', error: null });

        for (const path of ['/commands', '/commands/']) {
          r = await fetch(`${base}${path}`);
          assert.equal(r.status, 200);
          assert.equal(await r.text(), commandList('/commands'));
        }

        r = await fetch(`${base}/commands/nope`);
        assert.equal(r.status, 200);
        assert.deepEqual(await r.json(), { command: 'nope', error: 'Unknown command: nope' });
        r = await fetch(`${base}/commands/ruok/x`);
        assert.deepEqual(await r.json(), { command: 'ruok/x', error: 'Unknown command: ruok/x' });
        r = await fetch(`${base}/commands/%72uok`);
        assert.deepEqual(await r.json(), { command: 'ruok', error: null }, 'percent-decoded as Jetty does');
        r = await fetch(`${base}/commands/%E0%A4%A`);
        assert.equal(r.status, 400);
        assert.equal(((await r.json()) as { error: string }).error, 'Bad command name encoding');

        for (const name of ['dump', 'cons', 'connections', 'crst', 'srst', 'stmk', 'orst']) {
          r = await fetch(`${base}/commands/${name}?traceMask=1`);
          assert.equal(r.status, 403, name);
          const body = (await r.json()) as { command: string; error: string };
          assert.equal(body.error, `${name} is not executed because it is not in the whitelist.`);
        }
        r = await fetch(`${base}/commands/gtmk`);
        assert.deepEqual(await r.json(), { tracemask: 306, command: 'get_trace_mask', error: null }, 'a refused stmk changed nothing');

        serving = false;
        r = await fetch(`${base}/commands/ruok`);
        assert.deepEqual(await r.json(), { command: 'ruok', error: 'This ZooKeeper instance is not currently serving requests' });
        r = await fetch(`${base}/commands/zabstate`);
        assert.deepEqual(await r.json(), { voting: false, zabstate: '', command: 'zabstate', error: null }, 'zabstate needs no server');
        serving = true;

        r = await fetch(`${base}/commands/ruok`, { method: 'HEAD' });
        assert.equal(r.status, 200);
        assert.equal(await r.text(), '');
        for (const method of ['POST', 'PUT', 'DELETE']) {
          r = await fetch(`${base}/commands/ruok`, { method, body: 'x' });
          assert.equal(r.status, 405, method);
          await r.text();
        }
        r = await fetch(`${base}/elsewhere`);
        assert.equal(r.status, 404);
        await r.text();
      } finally {
        await app.close();
      }
    });
  });
}
