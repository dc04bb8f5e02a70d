// Four-letter words (src/workers/fourletter.ts): word codes and the whitelist.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fourLetterWordOf, FourLetterWhitelist, notWhitelistedText } from '../../src/workers/fourletter.js';

describe('four-letter words', () => {
  it('knows the four-letter words and the whitelist wording', () => {
    assert.equal(fourLetterWordOf(Buffer.from('ruok').readInt32BE(0)), 'ruok');
    assert.equal(fourLetterWordOf(12), undefined);
    const all = new FourLetterWhitelist(['*']);
    assert.ok(all.isEnabled('wchp'));
    const some = new FourLetterWhitelist([' stat ', '']);
    assert.ok(some.isEnabled('stat') && some.isEnabled('srvr') && !some.isEnabled('ruok'));
    assert.equal(notWhitelistedText('dump'), 'dump is not executed because it is not in the whitelist.\n');
  });
});
