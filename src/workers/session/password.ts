// Session passwords without a crypto object per session: HMAC-SHA256(secret, session id as 8
// big-endian bytes), first 16 bytes (handshake.ts), computed from the two SHA-256 states the
// secret leaves after its padded key block (RFC 2104: H(K ^ opad, H(K ^ ipad, m))). Those states
// are computed once per secret; a password is then two SHA-256 compressions (an 8-byte message
// and a 32-byte digest each fit one block), about 1 µs, where createHmac costs ~15 µs of object
// set-up, key padding and finalisation per session. Same bytes as createHmac (tested).

const blockBytes = 64;

/** FIPS 180-4 §4.2.2. */
const roundConstants = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

/** FIPS 180-4 §5.3.3. */
const initialState = Uint32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** One SHA-256 compression: `out` = `state` advanced by the 16 words of `block` (big-endian
 *  words already). `w` is a 64-word scratch schedule. `out` may be `state`. */
function compress(state: Uint32Array, block: Uint32Array, w: Uint32Array, out: Uint32Array): void {
  for (let i = 0; i < 16; i++) w[i] = block[i]!;
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
    const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + roundConstants[i]! + w[i]!) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = state[0]! + a;
  out[1] = state[1]! + b;
  out[2] = state[2]! + c;
  out[3] = state[3]! + d;
  out[4] = state[4]! + e;
  out[5] = state[5]! + f;
  out[6] = state[6]! + g;
  out[7] = state[7]! + h;
}

/** A whole message's SHA-256 (for a key longer than a block; once per secret). */
function sha256(message: Uint8Array): Uint8Array {
  const padded = new Uint8Array((((message.length + 8) >> 6) + 1) * blockBytes);
  padded.set(message);
  padded[message.length] = 0x80;
  const bits = message.length * 8;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  dv.setUint32(padded.length - 4, bits >>> 0);
  const state = Uint32Array.from(initialState);
  const block = new Uint32Array(16);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += blockBytes) {
    for (let i = 0; i < 16; i++) block[i] = dv.getUint32(off + 4 * i);
    compress(state, block, w, state);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, state[i]!);
  return out;
}

/** The state after one padded key block XOR `pad` (RFC 2104's ipad / opad). */
function keyState(key: Uint8Array, pad: number, w: Uint32Array): Uint32Array {
  const block = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    let word = 0;
    for (let j = 0; j < 4; j++) word = (word << 8) | ((key[4 * i + j] ?? 0) ^ pad);
    block[i] = word;
  }
  const state = new Uint32Array(8);
  compress(initialState, block, w, state);
  return state;
}

/** HMAC-SHA256(secret, id as 8 big-endian bytes), first `bytes` bytes, for one secret. */
export class PasswordHmac {
  readonly secret: string;
  readonly #inner: Uint32Array;
  readonly #outer: Uint32Array;
  readonly #w = new Uint32Array(64);
  readonly #block = new Uint32Array(16);
  readonly #digest = new Uint32Array(8);
  /** The id whose MAC #digest holds (a reconnect's password is checked, then sent back). */
  #digestHi = 0;
  #digestLo = 0;
  #digestValid = false;

  constructor(secret: string) {
    this.secret = secret;
    let key: Uint8Array = Buffer.from(secret, 'utf8');
    if (key.length > blockBytes) key = sha256(key);
    this.#inner = keyState(key, 0x36, this.#w);
    this.#outer = keyState(key, 0x5c, this.#w);
  }

  /** Writes the first `bytes` (<= 32) bytes of the MAC of (hi, lo) into `out` at `offset`. */
  write(hi: number, lo: number, out: Uint8Array, offset: number, bytes: number): void {
    const digest = this.#digest;
    if (!this.#digestValid || hi !== this.#digestHi || lo !== this.#digestLo) this.#mac(hi, lo);
    for (let i = 0; i < bytes; i++) out[offset + i] = (digest[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  }

  #mac(hi: number, lo: number): void {
    const block = this.#block;
    const digest = this.#digest;
    const w = this.#w;
    this.#digestValid = false;
    // Inner: the 8-byte id after the ipad block: 64 + 8 bytes = 576 bits.
    block.fill(0);
    block[0] = hi;
    block[1] = lo;
    block[2] = 0x80000000;
    block[15] = (blockBytes + 8) * 8;
    compress(this.#inner, block, w, digest);
    // Outer: the 32-byte inner digest after the opad block: 64 + 32 bytes = 768 bits.
    for (let i = 0; i < 8; i++) block[i] = digest[i]!;
    block[8] = 0x80000000;
    for (let i = 9; i < 15; i++) block[i] = 0;
    block[15] = (blockBytes + 32) * 8;
    compress(this.#outer, block, w, digest);
    this.#digestHi = hi;
    this.#digestLo = lo;
    this.#digestValid = true;
  }
}
