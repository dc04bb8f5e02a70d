// Bounds of the Zab core, named with their unit last; relations asserted at load. (The tick-counted
// timeouts are configuration: initLimit, syncLimit, the election timeout, in ZabConfig.)

import { assert } from '../../common/assert.js';

/** Log entries read at once when a leader streams a sync or a peer applies committed entries. */
export const entriesPerReadMax = 1024;

/** ZabConfig.proposalsInFlightMax by default: proposals a leader keeps un-committed at once. */
export const proposalsInFlightMaxDefault = 1000;

/**
 * Ticks a connecting observer waits on an observer master it has had no connection with since it
 * started (no peerUp, no message: a member down since before we came up, whose dials are
 * refused) before it counts that member as down and picks another (observer-master.ts). A live
 * member's connection opens well within it; misjudging one only costs a move back once it
 * connects.
 */
export const masterUnseenTicksMax = 2;

/**
 * An observer that left its master for silence (syncLimit ticks without a message: a hung
 * process, its connection open) skips it until it has been heard again for this many syncLimits.
 * A master resumed after a stop may be a follower its leader dropped meanwhile, that still thinks
 * it follows (its buffered vote says so); it learns otherwise within one syncLimit of its own, so
 * the observer does not move back to it only to leave again.
 */
export const quietMasterHoldSyncLimits = 2;

assert(entriesPerReadMax > 0 && proposalsInFlightMaxDefault > 0 && masterUnseenTicksMax > 0, 'zab bounds are positive');
assert(quietMasterHoldSyncLimits >= 1, 'a quiet master is held at least one syncLimit');
