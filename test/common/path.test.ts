// Unit tests of src/common/path.ts: PathUtils.validatePath's rules (cases from ZooKeeper's
// PathUtilsTest), the sequential variant, and the parent / ancestor helpers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ancestorEnd,
  ancestors,
  basename,
  isPathOrDescendant,
  isValidPath,
  isValidSequentialPath,
  parentPath,
  sequenceSuffix,
} from '../../src/common/path.js';

describe('isValidPath (PathUtils.validatePath)', () => {
  const valid = [
    '/',
    '/a',
    '/a/b',
    '/this is / a valid/path',
    '/name/with.period.',
    '/name/with/..hidden',
    '/name/.a',
    '/a...',
    '/.../b',
    '/a/b/c/d/e',
    '/\u00e9t\u00e9',
    '/\u20ac',
    '/a\u00a0b',
    '/\uffef',
  ];
  for (const p of valid)
    it(`accepts ${JSON.stringify(p)}`, () => assert.equal(isValidPath(p), true));

  const invalid = [
    '',
    'a',
    'a/b',
    '//',
    '/a/',
    '/a//b',
    '/.',
    '/..',
    '/a/.',
    '/a/..',
    '/./a',
    '/../a',
    '/a\u0000b',
    '/a\u0001',
    '/a\u001f',
    '/a\u007f',
    '/a\u009f',
    '/\ud800',
    '/\ud83d\ude00', // outside the BMP: surrogates are refused
    '/\ue000', // private use
    '/\uf8ff',
    '/\ufff0',
    '/\ufffd',
    '/\uffff',
  ];
  for (const p of invalid)
    it(`refuses ${JSON.stringify(p)}`, () => assert.equal(isValidPath(p), false));
});

describe('isValidSequentialPath (validatePath(path, true) checks path + "1")', () => {
  it('lets a sequential path end with /', () => {
    assert.equal(isValidSequentialPath('/a/'), true);
    assert.equal(isValidSequentialPath('/'), true);
    assert.equal(isValidPath('/a/'), false);
  });
  it('still refuses empty segments and relative names', () => {
    assert.equal(isValidSequentialPath('/a//'), false);
    assert.equal(isValidSequentialPath('/a/./'), false);
    assert.equal(isValidSequentialPath(''), false);
    assert.equal(isValidSequentialPath('a'), false);
  });
  it('matches validatePath(path + "1") on a range of inputs', () => {
    for (const p of [
      '/a',
      '/a/.',
      '/a/..',
      '/.',
      '/..',
      '/a.',
      '/x/y-',
      '/\u0001',
      '//',
      '/a/b/',
    ]) {
      assert.equal(isValidSequentialPath(p), isValidPath(p + '1'), p);
    }
  });
});

describe('parent, basename, ancestors', () => {
  it('parentPath', () => {
    assert.equal(parentPath('/a/b/c'), '/a/b');
    assert.equal(parentPath('/a'), '/');
    assert.equal(parentPath('/'), '');
  });
  it('basename', () => {
    assert.equal(basename('/a/b/c'), 'c');
    assert.equal(basename('/a'), 'a');
    assert.equal(basename('/'), '');
  });
  it('ancestors, nearest first, ending with /', () => {
    assert.deepEqual([...ancestors('/a/b/c')], ['/a/b', '/a', '/']);
    assert.deepEqual([...ancestors('/a')], ['/']);
    assert.deepEqual([...ancestors('/')], []);
  });
  it('ancestorEnd walks without allocating a list', () => {
    const p = '/x/yy/z';
    const seen: string[] = [];
    for (let e = ancestorEnd(p, p.length); e >= 0; e = ancestorEnd(p, e))
      seen.push(e === 0 ? '/' : p.slice(0, e));
    assert.deepEqual(seen, ['/x/yy', '/x', '/']);
  });
  it('isPathOrDescendant', () => {
    assert.equal(isPathOrDescendant('/a', '/a'), true);
    assert.equal(isPathOrDescendant('/a/b', '/a'), true);
    assert.equal(isPathOrDescendant('/ab', '/a'), false);
    assert.equal(isPathOrDescendant('/a', '/'), true);
    assert.equal(isPathOrDescendant('/', '/a'), false);
  });
  it('sequenceSuffix is %010d', () => {
    assert.equal(sequenceSuffix(0), '0000000000');
    assert.equal(sequenceSuffix(42), '0000000042');
    assert.equal(sequenceSuffix(2147483647), '2147483647');
    assert.equal(sequenceSuffix(-5), '-000000005');
  });
});
