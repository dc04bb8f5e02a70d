// The jute codec: reader, writer, and the ZooKeeper records on top of them.
export * from './reader.js';
export * from './writer.js';
export * from './records.js';
