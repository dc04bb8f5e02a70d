// Session set-up shortcuts for worker tests.

import assert from 'node:assert/strict';
import type { ConnectResponse } from '../../../../src/protocol/types.js';
import { SessionFlag } from '../../../../src/shm/records.js';
import { TestClient, hiLo, type ConnectOptions } from './client.js';
import type { FakeMain, Rec } from './fake-main.js';

export interface OpenSession {
  client: TestClient;
  response: ConnectResponse;
  sidHi: number;
  sidLo: number;
  attach: Extract<Rec, { kind: 'attach' }>;
}

/** A new global session: ConnectRequest → attach(create) → attached(ok) → ConnectResponse. */
export async function openGlobal(main: FakeMain, o: ConnectOptions = {}): Promise<OpenSession> {
  const client = await TestClient.connect(main.port);
  client.sendConnect(o);
  const attach = await main.next('attach');
  assert.equal(attach.flags & SessionFlag.create, SessionFlag.create);
  assert.equal(attach.flags & SessionFlag.local, 0);
  main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, timeoutMs: attach.timeoutMs });
  const response = await client.connectResponse();
  return { client, response, ...hiLo(response.sessionId), attach };
}

/** A new local session (zkts flag): answered at once, attach(local|create) sent alongside. */
export async function openLocal(main: FakeMain, o: ConnectOptions = {}): Promise<OpenSession> {
  const client = await TestClient.connect(main.port);
  client.sendConnect({ localSession: true, ...o });
  const response = await client.connectResponse();
  const attach = await main.next('attach');
  assert.equal(attach.flags & (SessionFlag.create | SessionFlag.local), SessionFlag.create | SessionFlag.local);
  return { client, response, ...hiLo(response.sessionId), attach };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
