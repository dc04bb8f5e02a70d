// Discrete-event scheduler: a binary heap of events keyed by (time, sequence). No real timers.

interface Item {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: Item[] = [];

  at(time: number, run: () => void): void {
    const item = { time: Math.max(time, this.now), seq: this.seq++, run };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  after(delay: number, run: () => void): void {
    this.at(this.now + delay, run);
  }

  /** Run events up to and including `until`. */
  runUntil(until: number, stop: () => boolean = () => false): void {
    const h = this.heap;
    while (h.length > 0 && h[0]!.time <= until) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && less(h[l]!, h[m]!)) m = l;
          if (r < h.length && less(h[r]!, h[m]!)) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      this.now = top.time;
      top.run();
      if (stop()) return;
    }
    this.now = Math.max(this.now, until);
  }
}

function less(a: Item, b: Item): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
