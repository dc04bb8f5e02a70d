// The log stage of the write pipeline: prepared transactions are appended in zxid order, and a
// flush reports when everything appended so far is durable (group commit: one flush for the
// whole batch a turn of the event loop prepared). Replies and watch events leave only after it.
//
// This is the seam the durable transaction log (txn log files, fsync) plugs into. Until then the
// MemoryLogStage completes asynchronously, so the pipeline already runs the asynchronous path
// that fsync will need: reads of a session wait behind its writes, other sessions do not.

export interface LogStage<T> {
  append(entry: T): void;
  /** Calls `done` once every entry appended before this call is durable. */
  flush(done: () => void): void;
}

export class MemoryLogStage<T> implements LogStage<T> {
  appended = 0;
  append(_entry: T): void {
    this.appended++;
  }
  flush(done: () => void): void {
    setImmediate(done);
  }
}
