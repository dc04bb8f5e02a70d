// Unit tests of src/main/admin/json.ts: the AdminServer's JSON as Jackson's pretty printer writes
// it (ZooKeeper 3.8's JsonOutputter), checked against answers Apache ZooKeeper 3.8 gave.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JavaDouble, jacksonJson, javaDoubleText } from '../../../src/main/admin/json.js';

test('objects: two-space indent, "key" : value, null and booleans', () => {
  assert.equal(jacksonJson({ command: 'ruok', error: null }), '{\n  "command" : "ruok",\n  "error" : null\n}');
  assert.equal(jacksonJson({ read_only: false }), '{\n  "read_only" : false\n}');
});

test('empty object and array as Jackson writes them', () => {
  assert.equal(jacksonJson({ a: {}, b: [], c: new Map() }), '{\n  "a" : { },\n  "b" : [ ],\n  "c" : { }\n}');
});

test('arrays stay on the key line; objects inside them are indented under it', () => {
  const text = jacksonJson({ connections: [{ remote_socket_address: '127.0.0.1:1', interest_ops: 1 }], p: ['/a', '/b'] });
  assert.equal(
    text,
    '{\n  "connections" : [ {\n    "remote_socket_address" : "127.0.0.1:1",\n    "interest_ops" : 1\n  } ],\n  "p" : [ "/a", "/b" ]\n}',
  );
  assert.deepEqual(JSON.parse(text), { connections: [{ remote_socket_address: '127.0.0.1:1', interest_ops: 1 }], p: ['/a', '/b'] });
});

test('Java longs past 2^53 as bigint, doubles with a fraction, maps in insertion order', () => {
  const m = new Map<string, bigint[]>([['72059994965737472', [-1n, 72059994965737472n]]]);
  assert.equal(jacksonJson(m), '{\n  "72059994965737472" : [ -1, 72059994965737472 ]\n}');
  assert.equal(jacksonJson(new JavaDouble(0)), '0.0');
  assert.equal(jacksonJson(new JavaDouble(13.8889)), '13.8889');
  assert.equal(javaDoubleText(2), '2.0');
  assert.equal(jacksonJson(Number.NaN), 'null');
});

test('strings are escaped as JSON', () => {
  const text = jacksonJson({ initial_configuration: 'a=1\nb="x"\n' });
  assert.equal(JSON.parse(text).initial_configuration, 'a=1\nb="x"\n');
});
