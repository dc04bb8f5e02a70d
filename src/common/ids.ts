// Session ids are 64-bit with the server id in the top byte (as ZooKeeper's are), beyond 2^53:
// they travel as hi/lo u32 halves inside the server and become bigint only at the edges.

export function sessionIdOf(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
export function sessionIdHi(id: bigint): number {
  return Number((id >> 32n) & 0xffffffffn);
}
export function sessionIdLo(id: bigint): number {
  return Number(id & 0xffffffffn);
}
/** The form ZooKeeper logs and 4lw print: 0x followed by lower-case hex, no padding. */
export function sessionIdHex(id: bigint): string {
  return `0x${id.toString(16)}`;
}
/** The largest epoch a zxid can carry and stay a safe integer in a float64 (epoch < 2^21). */
export const zxidEpochMax = 0x1fffff;
/** zxid = epoch << 32 | counter, kept in a float64 while the epoch stays below 2^21. */
export function zxidOf(epoch: number, counter: number): number {
  return epoch * 0x100000000 + counter;
}
export function zxidEpoch(zxid: number): number {
  return Math.floor(zxid / 0x100000000);
}
export function zxidCounter(zxid: number): number {
  return zxid % 0x100000000;
}
export function zxidHex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}
