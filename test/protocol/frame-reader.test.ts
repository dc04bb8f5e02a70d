// The length-prefixed frame reader shared by the quorum transport and the client: frames split at
// any chunk boundary, the bound and the empty-frame policy checked from the header alone, views
// (no copy) for a frame inside one chunk, and a state a callback may reset. The quorum codec over
// it is test/main/net/codec.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameReader, frameLengthOk, framePrefixBytes } from '../../src/protocol/frame-reader.js';

function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(framePrefixBytes + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, framePrefixBytes);
  return out;
}

function header(length: number): Buffer {
  const out = Buffer.alloc(framePrefixBytes);
  out.writeUInt32BE(length >>> 0, 0);
  return out;
}

describe('FrameReader', () => {
  test('frame reader refuses an oversized or empty frame from its header', () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    assert.match(reader.push(header, () => true) ?? '', /over frameBytesMax/);
    const empty = new FrameReader(1024);
    assert.equal(empty.push(Buffer.alloc(4), () => true), 'empty frame');
  });

  test('splits frames at every chunk boundary, in order', () => {
    const bodies = [1, 2, 3, 5, 200, 0x101].map((n, i) => Buffer.alloc(n, i + 1));
    const stream = Buffer.concat(bodies.map(frame));
    for (let step = 1; step <= stream.length; step++) {
      const reader = new FrameReader(4096);
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length; at += step) {
        const bad = reader.pushSpans(stream.subarray(at, at + step), (buf, start, end) => {
          got.push(Buffer.from(buf.subarray(start, end)));
          return true;
        });
        assert.equal(bad, frameLengthOk);
      }
      assert.deepStrictEqual(got, bodies);
      assert.equal(reader.bufferedBytes(), 0);
    }
  });

  test('a frame inside one chunk is a view of that chunk, not a copy', () => {
    const chunk = Buffer.concat([frame(Buffer.from('abc')), frame(Buffer.from('de'))]);
    const reader = new FrameReader(16);
    const seen: Buffer[] = [];
    assert.equal(
      reader.push(chunk, (body) => {
        seen.push(body);
        return true;
      }),
      null,
    );
    assert.equal(seen.length, 2);
    for (const body of seen) assert.equal(body.buffer, chunk.buffer);
    assert.equal(seen[0]!.toString(), 'abc');
    assert.equal(seen[1]!.toString(), 'de');
  });

  test('refuses a frame over the bound from its header, before its body arrives', () => {
    const reader = new FrameReader(1024);
    let frames = 0;
    const bad = reader.pushSpans(Buffer.concat([frame(Buffer.from('ok')), header(1025)]), () => {
      frames++;
      return true;
    });
    assert.equal(frames, 1);
    assert.equal(bad, 1025);
  });

  test("the empty-frame policy: 'deliver' hands an empty frame on, 'refuse' reports length 0", () => {
    const delivered: number[] = [];
    const reader = new FrameReader(1024, 'deliver');
    const bad = reader.pushSpans(Buffer.concat([header(0), frame(Buffer.from('x'))]), (_buf, start, end) => {
      delivered.push(end - start);
      return true;
    });
    assert.equal(bad, frameLengthOk);
    assert.deepStrictEqual(delivered, [0, 1]);
    assert.equal(new FrameReader(1024, 'refuse').pushSpans(header(0), () => true), 0);
  });

  test('a length word over 0x7fffffff (a negative int) is refused whatever the bound', () => {
    const reader = new FrameReader(2 ** 40, 'deliver');
    const bad = reader.pushSpans(header(-1), () => true);
    assert.equal(bad | 0, -1);
  });

  test('the bound rises from the next header on', () => {
    const reader = new FrameReader(4);
    const big = frame(Buffer.alloc(10, 7));
    reader.setFrameBytesMax(16);
    let got = 0;
    assert.equal(
      reader.push(big, (body) => {
        got = body.length;
        return true;
      }),
      null,
    );
    assert.equal(got, 10);
  });

  test('a bound raised by a callback holds for the next header of the same chunk', () => {
    const reader = new FrameReader(4);
    const got: number[] = [];
    const stream = Buffer.concat([frame(Buffer.alloc(2)), frame(Buffer.alloc(10))]);
    const problem = reader.push(stream, (body) => {
      got.push(body.length);
      reader.setFrameBytesMax(16);
      return true;
    });
    assert.equal(problem, null);
    assert.deepStrictEqual(got, [2, 10]);
  });

  test('a callback may stop the reader, or reset it and stop', () => {
    const stream = Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('bb')), frame(Buffer.from('ccc'))]);
    const stopped = new FrameReader(16);
    const got: string[] = [];
    stopped.push(stream, (body) => {
      got.push(body.toString());
      return false;
    });
    assert.deepStrictEqual(got, ['a']);
    // what is left stays buffered, whole: the next push goes on from it
    assert.equal(stopped.bufferedBytes(), stream.length - 5);
    stopped.push(Buffer.alloc(0), () => true);
    stopped.push(frame(Buffer.from('d')), (body) => {
      got.push(body.toString());
      return true;
    });
    assert.deepStrictEqual(got, ['a', 'bb', 'ccc', 'd']);

    const reset = new FrameReader(16);
    const first: string[] = [];
    reset.push(stream.subarray(0, 7), (body) => {
      first.push(body.toString());
      reset.reset();
      return false;
    });
    assert.deepStrictEqual(first, ['a']);
    assert.equal(reset.bufferedBytes(), 0);
    const after: string[] = [];
    reset.push(frame(Buffer.from('new')), (body) => {
      after.push(body.toString());
      return true;
    });
    assert.deepStrictEqual(after, ['new']);
  });
});
