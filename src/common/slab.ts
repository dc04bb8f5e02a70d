// Carves short-lived-together byte arrays out of shared 64 KiB slabs.
//
// A fresh Uint8Array of a few hundred bytes costs V8 an off-heap backing store (about 0.5-0.8 µs
// here, plus GC tracking); a view into a slab costs a tenth of that. The price is retention: a
// slab lives while any view into it does. So this is for bytes that are let go in the order they
// were made — the Zab log's txn payloads, trimmed oldest first — never for bytes kept for an
// unrelated lifetime (znode data: one old node would pin a whole slab).

const slabBytesDefault = 64 * 1024;

export class SlabAllocator {
  #slab: Uint8Array;
  #used = 0;

  constructor(readonly slabBytes = slabBytesDefault) {
    this.#slab = new Uint8Array(slabBytes);
  }

  /** A copy of `src` (a fresh array when it is over a quarter of a slab). */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n > this.slabBytes >>> 2) return src.slice();
    if (this.#used + n > this.slabBytes) {
      this.#slab = new Uint8Array(this.slabBytes);
      this.#used = 0;
    }
    const out = this.#slab.subarray(this.#used, this.#used + n);
    out.set(src);
    // keep views 8-byte aligned, as fresh arrays are
    this.#used = (this.#used + n + 7) & ~7;
    return out;
  }
}
