// Auth helpers (src/workers/session/auth.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authUser, digestId } from '../../../src/workers/session/auth.js';

describe('auth helpers', () => {
  it('computes digest ids as ZooKeeper does', () => {
    // DigestAuthenticationProvider.generateDigest("super:test")
    assert.equal(digestId('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(authUser('digest', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='), 'super');
    assert.equal(authUser('ip', '10.0.0.1'), '10.0.0.1');
  });
});
