/**
 * A message port between processes: `postMessage` semantics between two processes on
 * one host, whatever runs them (Deno, Bun, or a program in another language that speaks
 * the protocol below), with handles that move from one process to the other.
 * {@linkcode listenPort} and {@linkcode connectPort} make a {@linkcode Port} by name.
 *
 * @example A Deno or Bun process serving another
 * ```ts
 * import { connectPort, listenPort } from "@sysipc/sysipc/port";
 * const name = `/jobs-${Date.now()}`;
 * using listener = listenPort(name); // only this user may connect (mode 0o600)
 * const served = (async () => {
 *   using port = await listener.accept();
 *   for await (const job of port) {
 *     await port.postMessage({ done: job, by: process.pid, at: new Date() });
 *   }
 * })();
 * // In another process (here the same one):
 * using port = await connectPort(name);
 * await port.postMessage({ resize: "photo.jpg", sizes: new Uint16Array([64, 128]) });
 * const reply = (await port.receive()) as { done: unknown; by: number };
 * console.log(reply.done); // { resize: "photo.jpg", sizes: Uint16Array(2) [ 64, 128 ] }
 * port.close();
 * await served;
 * ```
 *
 * ## What can be sent
 *
 * What `structuredClone` copies, in a format of its own: `undefined`, `null`, booleans,
 * numbers (`-0` and `NaN` included), BigInts, strings (lone surrogates included), plain
 * objects and arrays (holes kept), `Date`, `RegExp` (source and flags), `Map`, `Set`,
 * `ArrayBuffer`, every typed array and `DataView` (with its offset, over a copy of its
 * whole buffer, as `structuredClone` does; views of one buffer stay views of one buffer),
 * `Error` and its native subclasses (name, message, stack, cause), any nesting of them,
 * shared references and cycles. Handles listed in `transfer` move over (see
 * {@linkcode Port.postMessage}).
 *
 * Anything else throws a `TypeError` whose `code` is `"DataCloneError"`, before anything
 * is sent: functions, symbols, class instances, proxies, `WeakMap`s, `SharedArrayBuffer`s,
 * handles not listed in `transfer`, and getters. Encoding never runs code of the
 * program's: only own enumerable data properties are read (a getter is refused, not
 * called; `toJSON` is not looked at), and built-in objects are read through the built-in
 * functions as they were when sysipc loaded. Properties of arrays other than their
 * elements are not sent (as in JSON). An object's prototype is not sent: a null-prototype
 * object arrives as a plain object. Decoding defines properties without going through
 * setters: a `__proto__` key arrives as an own property.
 *
 * ## Transport
 *
 * A port is a Unix seqpacket socket: it carries the messages, the descriptors of
 * transferred handles, and the peer's credentials, and it tells each side when the other
 * is gone. Once a side sends a message of 1 KiB or more, several messages faster than
 * the socket takes them, or 16 messages in a row less than 1 ms apart, it sets up a ring
 * of 32 × 64 KiB in shared memory (a memfd it hands over on the socket) and from then on
 * sends every message without descriptors through it, without a system call per message
 * while both sides are busy. The crossover is measured: the benchmark's port group times
 * both paths at each size: from 1 KiB up the ring was faster in nearly every runtime and
 * placement, small round trips were up to 2–4× faster through it while both sides were
 * busy, and messages sent now and then were no faster on either path. Those stay on the
 * socket until the ring is needed, where a port that never needs more costs no shared
 * memory. `await postMessage` resolves once a message is in the socket's buffer or the
 * ring: a sender that outpaces its receiver waits there. A message larger than those
 * buffers can hold waits for the receiver to read its first part.
 *
 * ## The protocol, version 1
 *
 * Everything here is little-endian. A C or Python program that follows it can talk to
 * sysipc: `tests/fixtures/port_peer.py` does, with the socket path only.
 *
 * **Connection.** A listener binds a Linux abstract `SOCK_SEQPACKET` Unix socket named
 * `"sysipc-port"` followed by the port's name (`"/jobs"` → `sun_path` =
 * `"\0sysipc-port/jobs"`, the address length counting the leading NUL and no other).
 * When it accepts a connection it reads the client's credentials (`SO_PEERCRED`); if its
 * mode does not let them in, it sends a REFUSE record and closes. Otherwise, and on the
 * client's side right after `connect`, each side sends a HELLO record as its first
 * datagram, and reads the other's before anything else.
 *
 * **Units and records.** Each datagram (at most 65,536 bytes, which each side must
 * accept) and each ring message holds one or more records back to back. A record is an
 * 8-byte header — kind (u8), 0 (u8), descriptor count (u16), payload length (u32) —
 * then the payload. Descriptors travel as `SCM_RIGHTS` with a datagram; its records'
 * counts add up to the number that came, each taking the next ones in order; ring
 * records carry none. The kinds:
 *
 * | kind | name | payload |
 * | --- | --- | --- |
 * | 1 | MESSAGE | a whole message |
 * | 2 | BEGIN | the message's total length (u32), then its first bytes (fewer than the total) |
 * | 3 | PART | the next bytes of the message begun last; it is whole when the total is reached |
 * | 4 | SWITCH | none: what this side sends next travels on its other path |
 * | 5 | RING | none, one descriptor, on the socket: this side's ring, which carries what it sends next |
 * | 6 | HELLO | magic `0x54524F50` (u32, `"PORT"`), version 1 (u16), flags (u16: bit 0, "I map the ring you offer"), the largest message this side accepts (u32) |
 * | 7 | REFUSE | an errno (i32, `EACCES`): the listener's mode does not let this client in |
 *
 * **Paths.** What a side sends travels on the socket until it sends a RING record (only
 * when the peer's HELLO has flag bit 0; at most once per connection): from then on it
 * travels in that ring, until a SWITCH record in the ring sends it back to the socket,
 * until a SWITCH on the socket sends it to the ring again, and so on. A SWITCH or RING
 * record is the last of its unit and never falls between a BEGIN and the PART that
 * completes its message. The ring is a `ShmChannel` of layout version 1 (its
 * documentation describes it fully) in a memfd sealed with `F_SEAL_SHRINK`,
 * `F_SEAL_GROW` and `F_SEAL_SEAL` (a receiver refuses one without): the side that
 * offered it only writes, the other only reads.
 *
 * **Messages.** A message is the length of its value stream (u32), the value stream,
 * then its blob section: the bytes of every `b` ArrayBuffer of the value stream, one after
 * another in the order they appear there, and nothing else.
 *
 * **Values.** A value stream holds exactly one value. A value is a tag byte and what the
 * tag says follows. A varuint is unsigned LEB128 (7 bits a byte, least significant first,
 * high bit set on every byte but the last) of at most 5 bytes and 32 bits; it need not
 * be the shortest form. Strings where only a string may be (keys, a RegExp's parts, an
 * error's texts) are `S` or `W` items, tag included.
 *
 * | tag | value | then |
 * | --- | --- | --- |
 * | `_` 0x5F | undefined | |
 * | `0` 0x30 | null | |
 * | `F` 0x46, `T` 0x54 | false, true | |
 * | `I` 0x49 | an integer in the 32-bit range | varuint zigzag: `n = (z >>> 1) ^ -(z & 1)` |
 * | `N` 0x4E | a number | 8 bytes, IEEE 754 binary64 |
 * | `Z` 0x5A | a BigInt | sign (u8: 0 or 1 for negative), varuint n, n bytes of magnitude, least significant first (n = 0 for zero) |
 * | `S` 0x53 | a string | varuint n, n bytes of well-formed UTF-8 |
 * | `W` 0x57 | a string | varuint n, n UTF-16 code units (2n bytes; lone surrogates allowed) |
 * | `o` 0x6F | a plain object | varuint n, n × (key string, value) |
 * | `a` 0x61 | an array | varuint length, length × (value, or `-` 0x2D for a hole) |
 * | `D` 0x44 | a Date | 8 bytes, its time value as a binary64 |
 * | `R` 0x52 | a RegExp | source string, flags string |
 * | `M` 0x4D | a Map | varuint n, n × (key, value) |
 * | `s` 0x73 | a Set | varuint n, n × value |
 * | `B` 0x42 | an ArrayBuffer | varuint n, n bytes |
 * | `b` 0x62 | an ArrayBuffer | varuint n: its bytes are the next n of the blob section |
 * | `V` 0x56 | a typed array or DataView | kind (u8), varuint byte offset, varuint length (elements; bytes for a DataView), then its buffer: a `B`, `b` or `r` item |
 * | `!` 0x21 | an Error | kind (u8: 0 Error, 1 EvalError, 2 RangeError, 3 ReferenceError, 4 SyntaxError, 5 TypeError, 6 URIError), fields (u8: bit 0 message, bit 1 stack, bit 2 cause), then the message string, the stack string, the cause value, those present |
 * | `H` 0x48 | a transferred handle | kind (u8: 0 a descriptor number, 1 PipeReader, 2 PipeWriter, 3 SharedMemory, 4 UnixConnection, 5 EventFd), varuint index among the message's descriptors, flags (u8: for SharedMemory, bit 0 read-only) |
 * | `r` 0x72 | an object read before | varuint index |
 *
 * The view kinds: 1 Int8Array, 2 Uint8Array, 3 Uint8ClampedArray, 4 Int16Array,
 * 5 Uint16Array, 6 Int32Array, 7 Uint32Array, 8 Float32Array, 9 Float64Array,
 * 10 BigInt64Array, 11 BigUint64Array, 12 DataView, 13 Float16Array; the offset is a
 * multiple of the element size, and the view lies within its buffer.
 *
 * Objects are numbered from 0 in the order their tags are read, before what they
 * contain: every `o`, `a`, `D`, `R`, `M`, `s`, `B`, `b`, `V`, `!` item, and every `H`
 * item but kind 0. An `r` item names one of them; a `V` takes its number before its
 * buffer takes the next. A descriptor is claimed by at most one `H` item of kind 1–5;
 * the receiver closes those no `H` item claims. Values nest at most 1000 deep.
 *
 * A receiver refuses (with `EPROTO`) anything that breaks these rules, and allocates
 * nothing the bytes received do not account for: counts are checked against the bytes
 * left, and a message against the size its HELLO announced.
 *
 * @module
 */
export { type Transferable } from "./handles.ts";
export {
  connectPort,
  listenPort,
  Port,
  type PortConnectOptions,
  PortListener,
  type PortListenOptions,
  type PortMessageErrorEvent,
  type PortMessageEvent,
  type PortOptions,
} from "./port.ts";
