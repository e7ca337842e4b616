/**
 * The framing of the port protocol, version 1 (described for implementers in the module
 * documentation of `port/mod.ts`): records, the hello, and where a port's socket lives.
 *
 * @module
 */

/** The protocol version this code speaks. */
export const VERSION = 1;
/** `"PORT"` as a little-endian 32-bit word: the first field of a hello. */
export const MAGIC = 0x54524f50;

/** A record's header: kind (u8), 0 (u8), descriptors (u16), payload length (u32). */
export const RECORD_HEADER = 8;
/** The largest datagram either side sends (and must accept), records included. */
export const UNIT_MAX = 65536;

/** A whole message. */
export const R_MESSAGE = 1;
/** The start of a message: its total length (u32), then its first bytes. */
export const R_BEGIN = 2;
/** The next bytes of the message begun last. */
export const R_PART = 3;
/** The records that follow travel on the other path (socket ↔ ring). */
export const R_SWITCH = 4;
/** Socket only, with one descriptor: the sender's ring, which carries what follows. */
export const R_RING = 5;
/** The first record each side sends. */
export const R_HELLO = 6;
/** Listener to client, instead of a hello: the connection is refused (i32 errno). */
export const R_REFUSE = 7;

/** The hello's payload: magic, version (u16), flags (u16), max message (u32). */
export const HELLO_SIZE = 12;
/** Hello flag: this side maps the rings its peer offers. */
export const HELLO_RINGS = 1;

/** The prefix of a port's abstract socket name: `"sysipc-port"` then the port's name. */
export const ADDRESS_PREFIX = "sysipc-port";

/**
 * Writes a record header.
 *
 * @param view Where.
 * @param at The record's offset.
 * @param kind Its kind.
 * @param fds How many descriptors it carries.
 * @param length Its payload's length.
 */
export function writeRecord(
  view: DataView,
  at: number,
  kind: number,
  fds: number,
  length: number,
): void {
  view.setUint8(at, kind);
  view.setUint8(at + 1, 0);
  view.setUint16(at + 2, fds, true);
  view.setUint32(at + 4, length, true);
}
