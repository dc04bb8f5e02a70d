// JSON as ZooKeeper's AdminServer writes it: Jackson's ObjectMapper with INDENT_OUTPUT (two
// spaces, `"key" : value`, `{ }` and `[ ]` when empty, nested arrays of objects opened on the
// same line). Java longs beyond 2^53 (session ids, digests) come as bigint and are written as
// integers; a Java double (an average latency) comes as a JavaDouble so that 0 prints as 0.0.

/** A value Java holds as a double: Jackson prints it with a fraction (0.0, 13.8889). */
export class JavaDouble {
  constructor(readonly value: number) {}
}

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JavaDouble
  | readonly JsonValue[]
  | ReadonlyMap<string, JsonValue>
  | { readonly [key: string]: JsonValue };

/** A finite double as Java's Double.toString writes it for ordinary magnitudes: a fraction always. */
export function javaDoubleText(n: number): string {
  if (!Number.isFinite(n)) return '0.0';
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function scalar(v: JsonValue): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    default:
      return v instanceof JavaDouble ? javaDoubleText(v.value) : undefined;
  }
}

function entriesOf(v: ReadonlyMap<string, JsonValue> | { readonly [key: string]: JsonValue }): [string, JsonValue][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

function write(v: JsonValue, indent: string, out: string[]): void {
  const s = scalar(v);
  if (s !== undefined) {
    out.push(s);
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    const items = v as readonly JsonValue[];
    if (items.length === 0) {
      out.push('[ ]');
      return;
    }
    // Jackson's DefaultPrettyPrinter keeps array items on one line, objects inside indented.
    out.push('[ ');
    items.forEach((item, i) => {
      if (i > 0) out.push(', ');
      write(item, indent, out);
    });
    out.push(' ]');
    return;
  }
  const entries = entriesOf(v as ReadonlyMap<string, JsonValue> | { readonly [key: string]: JsonValue });
  if (entries.length === 0) {
    out.push('{ }');
    return;
  }
  out.push('{\n');
  entries.forEach(([k, item], i) => {
    out.push(`${inner}${JSON.stringify(k)} : `);
    write(item, inner, out);
    out.push(i < entries.length - 1 ? ',\n' : '\n');
  });
  out.push(`${indent}}`);
}

/** `v` as Jackson's pretty printer writes it (no trailing newline, as the AdminServer sends it). */
export function jacksonJson(v: JsonValue): string {
  const out: string[] = [];
  write(v, '', out);
  return out.join('');
}
