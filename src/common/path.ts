// ZooKeeper znode paths: validation exactly as org.apache.zookeeper.common.PathUtils does it, and
// parent / basename / ancestor helpers that use indexOf/lastIndexOf (no regex, no split) because
// they sit on the request hot path. A leaf module: imports nothing.

/**
 * PathUtils.validatePath(path): true when ZooKeeper accepts the path.
 * - must start with '/', and only the root may end with '/';
 * - no empty segment ("//"), no "." or ".." segment;
 * - no U+0000, no control characters U+0001-U+001F and U+007F-U+009F, nothing in U+D800-U+F8FF
 *   (so no surrogate: ZooKeeper rejects every character outside the BMP) and nothing in
 *   U+FFF0-U+FFFF. Checks UTF-16 code units, as Java's char[] does.
 */
export function isValidPath(path: string): boolean {
  return validatePathEnd(path, false);
}

/**
 * PathUtils.validatePath(path, isSequential): a sequential create validates `path + "1"`, so
 * its path may end with '/' (the server appends the 10-digit counter). Allocates nothing.
 */
export function isValidSequentialPath(path: string): boolean {
  return validatePathEnd(path, true);
}

/** Validates `path`, or `path + "1"` when `sequentialSuffix`, without building that string. */
function validatePathEnd(path: string, sequentialSuffix: boolean): boolean {
  const length = path.length + (sequentialSuffix ? 1 : 0);
  if (length === 0) return false;
  if (path.charCodeAt(0) !== 0x2f) return false; // '/'
  if (length === 1) return true; // the root
  const at = (i: number): number => (i < path.length ? path.charCodeAt(i) : 0x31); // '1'
  if (at(length - 1) === 0x2f) return false;
  let last = 0x2f;
  for (let i = 1; i < length; i++) {
    const c = at(i);
    if (c === 0) return false;
    if (c === 0x2f && last === 0x2f) return false; // empty node name
    if (c === 0x2e) {
      // '.' or '..' as a whole segment is a relative path
      const segmentEnds = i + 1 === length || at(i + 1) === 0x2f;
      if (last === 0x2e) {
        if (at(i - 2) === 0x2f && segmentEnds) return false;
      } else if (last === 0x2f && segmentEnds) {
        return false;
      }
    } else if (
      (c > 0x00 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return false;
    }
    last = c;
  }
  return true;
}

/**
 * The parent of a valid non-root path: "/a/b" -> "/a", "/a" -> "/". ZooKeeper's own
 * `path.substring(0, lastSlash)` gives "" for a top-level node, an alias of the root; zkts
 * always uses "/" so the root has one name. "/" itself has no parent: returns "".
 */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash <= 0) return path.length > 1 && slash === 0 ? '/' : '';
  return path.slice(0, slash);
}

/** The last segment: "/a/b" -> "b", "/a" -> "a", "/" -> "". */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * End index (exclusive) of the next ancestor of `path.slice(0, end)`, or -1 past the root:
 * walking from `end = path.length`, ancestors are `path.slice(0, e)` for each returned e > 0 and
 * finally "/" (returned as 0). Lets a caller walk up without an array of parents:
 *
 *     for (let e = ancestorEnd(p, p.length); e >= 0; e = ancestorEnd(p, e))
 *       visit(e === 0 ? '/' : p.slice(0, e));
 */
export function ancestorEnd(path: string, end: number): number {
  if (end <= 1) return -1; // at the root already
  return path.lastIndexOf('/', end - 1);
}

/** The ancestors of `path`, nearest first, ending with "/" (PathParentIterator without self). */
export function* ancestors(path: string): Generator<string, void, void> {
  for (let e = ancestorEnd(path, path.length); e >= 0; e = ancestorEnd(path, e)) {
    yield e === 0 ? '/' : path.slice(0, e);
  }
}

/** `child` is `ancestor` or lies below it ("/a" covers "/a" and "/a/b", not "/ab"). */
export function isPathOrDescendant(child: string, ancestor: string): boolean {
  if (ancestor === '/') return child.charCodeAt(0) === 0x2f;
  if (!child.startsWith(ancestor)) return false;
  return child.length === ancestor.length || child.charCodeAt(ancestor.length) === 0x2f;
}

/** A 10-digit zero-padded counter as `String.format("%010d", n)` writes an int. */
export function sequenceSuffix(counter: number): string {
  if (counter < 0) return '-' + String(-counter).padStart(9, '0');
  return String(counter).padStart(10, '0');
}
