/**
 * The segment layout of a `ShmChannel`, version 1 (internal to `shm/`; the public
 * description, precise enough for a C peer, is in the documentation of `ShmChannel`, and
 * tests/fixtures/shm_channel_peer.c speaks it).
 *
 * Offsets are in bytes; every field is a little-endian 32-bit integer; the words marked
 * "atomic" are only read and written with atomic instructions (sequentially consistent).
 *
 * @module
 */
import { IpcError } from "../ffi/errors.ts";

/** `"SIPC"` as a little-endian 32-bit word, at offset 0 (stored last by the creator). */
export const MAGIC0 = 0x43504953;
/** `"CHAN"` as a little-endian 32-bit word, at offset 4. */
export const MAGIC1 = 0x4e414843;
/** The layout version this code speaks, at offset 8. */
export const VERSION = 1;
/** Bytes before the first cell (offset 12 holds it). */
export const HEADER_SIZE = 320;
/** Bytes before a cell's data: a cache line, so the data never shares the state's line. */
export const CELL_HEADER = 64;
/** Cells are a whole number of 64-byte cache lines. */
export const CELL_ALIGN = 64;
/** Positions run from 0 to `slots × laps − 1`, and `laps = floor(LAP_SPAN / slots)`. */
export const LAP_SPAN = 2 ** 30;
/** The most slots a channel may have. */
export const MAX_SLOTS = 2 ** 20;
/** The largest slot (message) size. */
export const MAX_SLOT_SIZE = 2 ** 30;
/** A message length that means "no message here" (a cancelled reservation): skip it. */
export const SKIP = -1; // 0xffffffff read through an Int32Array

/** Header fields, as indexes into an `Int32Array` over the segment. */
export const H = {
  magic0: 0,
  magic1: 1,
  version: 2,
  headerSize: 3,
  slots: 4,
  slotSize: 5,
  cellSize: 6,
  laps: 7,
  creatorPid: 8,
  /** Atomic: the next position to write (its own cache line, at byte 64). */
  tail: 16,
  /** Atomic: the next position to read (byte 128). */
  head: 32,
  /** Atomic: receivers parked or about to park (byte 192). */
  dataWaiters: 48,
  /** Atomic: the futex word receivers park on (byte 196). */
  dataSeq: 49,
  /** Atomic: senders parked or about to park (byte 256). */
  spaceWaiters: 64,
  /** Atomic: the futex word senders park on (byte 260). */
  spaceSeq: 65,
  /** Atomic: messages lost to peers that died holding a slot (byte 288). */
  lost: 72,
} as const;

/** Cell states: the low 2 bits of a cell's state word. */
export const EMPTY = 0;
/** Being written; the upper 30 bits hold the writer's thread id. */
export const WRITING = 1;
/** Holds a message; the upper 30 bits hold its lap. */
export const FULL = 2;
/** Being read; the upper 30 bits hold the reader's thread id. */
export const READING = 3;

/** A channel's geometry. */
export interface Geometry {
  slots: number;
  slotSize: number;
  cellSize: number;
  laps: number;
  /** The whole segment's size in bytes. */
  size: number;
}

/**
 * The geometry of a channel with this many slots of this size.
 *
 * @param slots The number of slots.
 * @param slotSize The largest message.
 * @returns The geometry.
 */
export function geometry(slots: number, slotSize: number): Geometry {
  const cellSize = Math.ceil((CELL_HEADER + slotSize) / CELL_ALIGN) * CELL_ALIGN;
  return {
    slots,
    slotSize,
    cellSize,
    laps: Math.floor(LAP_SPAN / slots),
    size: HEADER_SIZE + slots * cellSize,
  };
}

/**
 * Writes the header of a new channel into zeroed memory (every cell is then `EMPTY` at lap
 * 0, and head = tail = 0); the magic goes last, so that a peer never sees a half-made
 * header as valid.
 *
 * @param i32 The segment.
 * @param g The geometry.
 * @param pid The creator's pid.
 */
export function writeHeader(i32: Int32Array, g: Geometry, pid: number): void {
  i32[H.version] = VERSION;
  i32[H.headerSize] = HEADER_SIZE;
  i32[H.slots] = g.slots;
  i32[H.slotSize] = g.slotSize;
  i32[H.cellSize] = g.cellSize;
  i32[H.laps] = g.laps;
  i32[H.creatorPid] = pid;
  Atomics.store(i32, H.magic1, MAGIC1);
  Atomics.store(i32, H.magic0, MAGIC0);
}

/**
 * Reads and checks the header of an existing segment.
 *
 * @param i32 The segment (its whole mapped size).
 * @param name For errors.
 * @returns The geometry.
 * @throws {IpcError} `EPROTO` when the segment is not a channel, has another layout
 *   version, or its header is inconsistent (corrupted).
 */
export function readHeader(i32: Int32Array, name: string): Geometry {
  const size = i32.byteLength;
  const bad = (detail: string) => IpcError.of("EPROTO", "ShmChannel.open", name, detail);
  if (size < HEADER_SIZE) {
    throw bad(`Not a ShmChannel: the segment has ${size} bytes, fewer than a channel's header`);
  }
  const m0 = Atomics.load(i32, H.magic0);
  if (m0 !== MAGIC0 || i32[H.magic1] !== MAGIC1) {
    throw bad(
      m0 === 0
        ? "Not a ShmChannel, or one its creator has not finished making (no magic number)"
        : `Not a ShmChannel (magic 0x${(m0 >>> 0).toString(16)})`,
    );
  }
  const version = i32[H.version]!;
  if (version !== VERSION) {
    throw bad(`The channel has layout version ${version}; this sysipc speaks version ${VERSION}`);
  }
  const slots = i32[H.slots]!;
  const slotSize = i32[H.slotSize]!;
  const corrupt = (what: string) => bad(`The channel's header is corrupted: ${what}`);
  if (i32[H.headerSize] !== HEADER_SIZE) throw corrupt(`header size ${i32[H.headerSize]}`);
  if (!(slots >= 1 && slots <= MAX_SLOTS)) throw corrupt(`${slots} slots`);
  if (!(slotSize >= 1 && slotSize <= MAX_SLOT_SIZE)) throw corrupt(`slot size ${slotSize}`);
  const g = geometry(slots, slotSize);
  if (i32[H.cellSize] !== g.cellSize) throw corrupt(`cell size ${i32[H.cellSize]}`);
  if (i32[H.laps] !== g.laps) throw corrupt(`${i32[H.laps]} laps`);
  if (size < g.size) throw corrupt(`the segment has ${size} bytes, the cells need ${g.size}`);
  const limit = slots * g.laps;
  for (const [field, word] of [["tail", H.tail], ["head", H.head]] as const) {
    const p = Atomics.load(i32, word);
    if (p < 0 || p >= limit) throw corrupt(`${field} position ${p} (limit ${limit})`);
  }
  return g;
}
