// Bounds of the Zab core, named with their unit last; relations asserted at load. (The tick-counted
// timeouts are configuration: initLimit, syncLimit, the election timeout, in ZabConfig.)

import { assert } from '../../common/assert.js';

/** Log entries read at once when a leader streams a sync or a peer applies committed entries. */
export const entriesPerReadMax = 1024;

/** ZabConfig.proposalsInFlightMax by default: proposals a leader keeps un-committed at once. */
export const proposalsInFlightMaxDefault = 1000;

assert(entriesPerReadMax > 0 && proposalsInFlightMaxDefault > 0, 'zab bounds are positive');
