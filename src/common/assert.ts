// Assertions for programmer errors: a broken invariant crashes the thread (and so the process)
// rather than letting the server run past it. Operating errors never use these.

export class AssertionError extends Error {
  readonly code = 'ZKTS_ERR_ASSERTION';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(what: string): never {
  throw new AssertionError(`unreachable: ${what}`);
}

export function assertNever(value: never, what: string): never {
  throw new AssertionError(`unexpected ${what}: ${String(value)}`);
}
