/**
 * ZooKeeper 3.8 client-port codec: jute primitives, records, frame splitting and four-letter words.
 * See README.md in this folder for how a server maps each failure to ZooKeeper's behaviour.
 */

export * from './buffer.js';
export * from './records.js';
export * from './frames.js';
export * from './fourletter.js';
