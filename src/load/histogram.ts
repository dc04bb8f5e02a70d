// A fixed-bucket latency histogram over microseconds, mergeable across processes.
//
// Log-linear buckets (HdrHistogram-like): values below 2·SUB µs get one bucket each, above that
// every power of two is cut into SUB = 64 sub-buckets, so a reported percentile is within ~1.6%
// of the true value. Recording allocates nothing. The bucket layout is fixed (the same in every
// process), so histograms travel over IPC as sparse [index, count] pairs and merge by addition.

const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Buckets: enough for 2^40 µs (~12 days); anything larger lands in the last bucket. */
const BUCKETS = SUB * 40;

/** The wire form: sparse [index, count, index, count, ...] plus the exact aggregates. */
export interface HistogramData {
  n: number;
  sumUs: number;
  minUs: number;
  maxUs: number;
  buckets: number[];
}

export interface LatencySummaryMs {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

function indexOf(v: number): number {
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS;
  const i = shift * SUB + (v >>> shift);
  return i < BUCKETS ? i : BUCKETS - 1;
}

/** The middle of bucket i, in microseconds. */
function bucketMid(i: number): number {
  if (i < 2 * SUB) return i;
  const shift = Math.floor(i / SUB) - 1;
  const mantissa = i - shift * SUB;
  return (mantissa + 0.5) * 2 ** shift;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;

  get count(): number {
    return this.n;
  }

  recordUs(us: number): void {
    let v = us < 0 || !Number.isFinite(us) ? 0 : Math.round(us);
    if (v > 0x7fffffff) v = 0x7fffffff;
    this.counts[indexOf(v)]! += 1;
    this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  recordMs(ms: number): void {
    this.recordUs(ms * 1000);
  }

  merge(other: Histogram | HistogramData): void {
    if (other instanceof Histogram) {
      if (other.n === 0) return;
      for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
      this.absorb(other.n, other.sum, other.min, other.max);
      return;
    }
    if (other.n === 0) return;
    const b = other.buckets;
    for (let i = 0; i + 1 < b.length; i += 2) {
      const idx = b[i]!;
      if (idx >= 0 && idx < BUCKETS) this.counts[idx]! += b[i + 1]!;
    }
    this.absorb(other.n, other.sumUs, other.minUs, other.maxUs);
  }

  private absorb(n: number, sum: number, min: number, max: number): void {
    this.n += n;
    this.sum += sum;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
  }

  /** The p-th percentile (0 < p ≤ 100) in microseconds; 0 when empty. */
  percentileUs(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.min, Math.min(bucketMid(i), this.max));
    }
    return this.max;
  }

  summaryMs(): LatencySummaryMs {
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
      count: this.n,
      min: this.n === 0 ? 0 : ms(this.min),
      mean: this.n === 0 ? 0 : ms(this.sum / this.n),
      p50: ms(this.percentileUs(50)),
      p90: ms(this.percentileUs(90)),
      p99: ms(this.percentileUs(99)),
      p999: ms(this.percentileUs(99.9)),
      max: ms(this.max),
    };
  }

  toData(): HistogramData {
    const buckets: number[] = [];
    if (this.n > 0) {
      for (let i = 0; i < BUCKETS; i++) {
        const c = this.counts[i]!;
        if (c !== 0) buckets.push(i, c);
      }
    }
    return { n: this.n, sumUs: this.sum, minUs: this.n === 0 ? 0 : this.min, maxUs: this.max, buckets };
  }

  static fromData(d: HistogramData): Histogram {
    const h = new Histogram();
    h.merge(d);
    return h;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }
}
