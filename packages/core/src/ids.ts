import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * Random bytes drawn from a pool refilled 4 KiB at a time, as Node's own randomUUID does: each randomBytes call
 * costs a trip into OpenSSL (and a getpid system call for its fork check), and a bid takes several ids.
 */
const POOL_BYTES = 4_096;
let pool = Buffer.alloc(0);
let taken = 0;
function randomSlice(size: number): Buffer {
  if (taken + size > pool.length) {
    pool = randomBytes(POOL_BYTES);
    taken = 0;
  }
  taken += size;
  return pool.subarray(taken - size, taken);
}

/**
 * A UUIDv7 (RFC 9562): time-ordered, so ids sort by creation and index well.
 * Within one millisecond a counter in the random bits keeps ids of this process increasing.
 */
export function uuidv7(now = Date.now()): string {
  if (now === lastMs) counter = (counter + 1) & 0xfff;
  else {
    lastMs = now;
    counter = randomSlice(2).readUInt16BE(0) & 0x7ff;
  }
  const bytes = randomSlice(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
