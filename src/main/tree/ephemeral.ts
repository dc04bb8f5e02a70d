// What a znode's ephemeralOwner says about it, as org.apache.zookeeper.server.EphemeralType reads
// it. Owners are Java longs: zkts keeps them as *signed* 64-bit bigints (BigInt.asIntN(64, x))
// everywhere inside the tree, so an id spelled unsigned by one layer and signed by another (the
// jute reader decodes signed) still finds the same map entry.

/** EphemeralType */
export const EphemeralKind = {
  /** Persistent: owner 0. */
  void: 0,
  /** Ephemeral of a session: owner = session id. */
  normal: 1,
  /** Container: owner Long.MIN_VALUE, whatever extendedTypesEnabled says. */
  container: 2,
  /** TTL node: owner 0xFF00_00xx_xxxx_xxxx with the TTL (ms) in the low 40 bits. Only read as
   *  such when zookeeper.extendedTypesEnabled is true. */
  ttl: 3,
} as const;
export type EphemeralKind = (typeof EphemeralKind)[keyof typeof EphemeralKind];

/** EphemeralType.CONTAINER_EPHEMERAL_OWNER (Long.MIN_VALUE). */
export const containerOwner = -(1n << 63n);
/** EXTENDED_MASK, signed. */
const extendedMask = BigInt.asIntN(64, 0xff00000000000000n);
/** RESERVED_BITS_MASK: the extended feature number (0 = TTL). */
const reservedBitsMask = 0x00ffff0000000000n;
/** EXTENDED_FEATURE_VALUE_MASK: the TTL in ms. */
const featureValueMask = 0x000000ffffffffffn;
/** EphemeralType.TTL.maxValue(): 2^40 - 1 ms, about 34 years. */
export const ttlMsMax = 0xffffffffff;

/** Canonical (signed 64-bit) form of a session id or owner. */
export function canonicalOwner(owner: bigint): bigint {
  return BigInt.asIntN(64, owner);
}

/** EphemeralType.get(ephemeralOwner). An extended owner with an unknown feature number is read
 *  as a plain ephemeral (ZooKeeper throws IllegalArgumentException on the apply path). */
export function ephemeralKind(owner: bigint, extendedTypesEnabled: boolean): EphemeralKind {
  if (owner === 0n) return EphemeralKind.void;
  if (extendedTypesEnabled && (owner & extendedMask) === extendedMask) {
    if ((owner & reservedBitsMask) === 0n) return EphemeralKind.ttl;
  }
  if (owner === containerOwner) return EphemeralKind.container;
  return EphemeralKind.normal;
}

/** The TTL (ms) a TTL owner carries (EphemeralType.TTL.getValue). */
export function ttlOfOwner(owner: bigint): number {
  return Number(owner & featureValueMask);
}

/** EphemeralType.TTL.toEphemeralOwner(ttl), for a ttl already checked by isValidTtl. */
export function ttlOwner(ttlMs: number): bigint {
  return BigInt.asIntN(64, 0xff00000000000000n | BigInt(ttlMs));
}

/** A TTL EphemeralType.TTL.toEphemeralOwner accepts: 0 < ttl <= 2^40 - 1. */
export function isValidTtl(ttlMs: number): boolean {
  return Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= ttlMsMax;
}

/** The ephemeralOwner a client sees in a Stat (DataNode.getClientEphemeralOwner): containers and
 *  TTL nodes show 0. */
export function clientEphemeralOwner(owner: bigint, extendedTypesEnabled: boolean): bigint {
  return ephemeralKind(owner, extendedTypesEnabled) === EphemeralKind.normal ? owner : 0n;
}
