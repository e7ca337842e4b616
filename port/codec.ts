/**
 * The value format of `port` messages, version 1 (the tags are described in the module
 * documentation of `port/mod.ts`): {@linkcode Encoder} writes a value as a stream of
 * tagged items, {@linkcode Decoder} reads one back.
 *
 * Neither ever runs code of the program's own. The encoder takes only own enumerable
 * data properties of plain objects and arrays (a getter is refused, never called), reads
 * `Map`s, `Set`s, `Date`s, regular expressions, errors and typed arrays through built-in
 * functions captured when this module loads (so replacing `Map.prototype.forEach` or a
 * `RegExp` flag getter changes nothing), refuses proxies without touching their traps,
 * and never looks at `toJSON`. The decoder defines properties without going through
 * setters: a key that `Object.prototype` has (`__proto__`, `toString`, …) becomes an own
 * data property, never a prototype change.
 *
 * The decoder trusts nothing in its input: every count and length is checked against the
 * bytes left before anything is allocated for it, nesting is bounded, references must
 * point back at values already read, and any violation is an `EPROTO` error.
 *
 * @module
 */
import { types } from "node:util";
import { IpcError } from "../ffi/errors.ts";

// ---------------------------------------------------------------------------------------
// Tags (see the module documentation of port/mod.ts)

/** `undefined`. */
export const T_UNDEFINED = 0x5f; // "_"
/** `null`. */
export const T_NULL = 0x30; // "0"
/** `false`. */
export const T_FALSE = 0x46; // "F"
/** `true`. */
export const T_TRUE = 0x54; // "T"
/** An integer in the 32-bit range: a zigzag varuint. */
export const T_INT = 0x49; // "I"
/** A number: 8 bytes, IEEE 754 double, little-endian. */
export const T_FLOAT = 0x4e; // "N"
/** A BigInt: sign byte, varuint byte count, magnitude little-endian. */
export const T_BIGINT = 0x5a; // "Z"
/** A string: varuint byte count, UTF-8. */
export const T_UTF8 = 0x53; // "S"
/** A string: varuint code unit count, UTF-16 little-endian (lone surrogates allowed). */
export const T_UTF16 = 0x57; // "W"
/** A plain object: varuint count, then count × (string, value). */
export const T_OBJECT = 0x6f; // "o"
/** An array: varuint length, then length × (value or hole). */
export const T_ARRAY = 0x61; // "a"
/** A missing element of an array (only directly inside an array). */
export const T_HOLE = 0x2d; // "-"
/** A `Date`: 8 bytes, its time value as a double. */
export const T_DATE = 0x44; // "D"
/** A `RegExp`: its source and its flags, both strings. */
export const T_REGEXP = 0x52; // "R"
/** A `Map`: varuint count, then count × (key, value). */
export const T_MAP = 0x4d; // "M"
/** A `Set`: varuint count, then count × value. */
export const T_SET = 0x73; // "s"
/** An `ArrayBuffer` with its bytes here: varuint byte count, then the bytes. */
export const T_BUFFER = 0x42; // "B"
/** An `ArrayBuffer` whose bytes are the next ones of the message's blob section. */
export const T_BLOB = 0x62; // "b"
/** A typed array or `DataView`: kind byte, varuint offset, varuint length, then its buffer. */
export const T_VIEW = 0x56; // "V"
/** An `Error`: kind byte, field bits, then the fields present. */
export const T_ERROR = 0x21; // "!"
/** A reference to an object read earlier: varuint index in order of appearance. */
export const T_REF = 0x72; // "r"
/** A transferred handle: kind byte, varuint descriptor index, flags byte. */
export const T_HANDLE = 0x48; // "H"

/** The view kinds of `T_VIEW`, by number: the constructors' names. */
export const VIEW_KINDS: readonly string[] = [
  "",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "DataView",
  "Float16Array",
];

/** The error kinds of `T_ERROR`, by number. */
export const ERROR_KINDS: readonly string[] = [
  "Error",
  "EvalError",
  "RangeError",
  "ReferenceError",
  "SyntaxError",
  "TypeError",
  "URIError",
];

/** Field bits of `T_ERROR`. */
const E_MESSAGE = 1;
const E_STACK = 2;
const E_CAUSE = 4;

/** How deep values may nest, on both sides. */
export const MAX_DEPTH = 1000;
/** ArrayBuffers of at least this many bytes go to the blob section. */
export const BLOB_MIN = 4096;
/** Objects the encoder looks up in a list before it switches to a `Map`. */
const LIST_MAX = 32;

// ---------------------------------------------------------------------------------------
// The built-ins, captured once: later changes to prototypes and globals do not reach the
// codec.

// Captured functions are called with `.call(self, …)`: a bound `Function.prototype.call`
// costs 40 ns a call on Bun, `.call` half that.
type Getter<R> = (this: unknown) => R;
function getter<R>(proto: object, key: PropertyKey): Getter<R> {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (get === undefined) throw new Error(`sysipc: no built-in getter ${String(key)}`);
  return get as Getter<R>;
}
function optionalGetter<R>(proto: object, key: PropertyKey): Getter<R> | undefined {
  return Object.getOwnPropertyDescriptor(proto, key)?.get as Getter<R> | undefined;
}

const ObjectProto = Object.prototype;
const ArrayProto = Array.prototype;
const ArrayCtor = Array;
const ArrayBufferCtor = ArrayBuffer;
const MapCtor = Map;
const SetCtor = Set;
const DateCtor = Date;
const RegExpCtor = RegExp;
const Uint8ArrayCtor = Uint8Array;
const DataViewCtor = DataView;
const getPrototypeOf = Object.getPrototypeOf;
const objectKeys = Object.keys;
const hasOwn = Object.hasOwn;
const defineProperty = Object.defineProperty;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const fromCharCode = String.fromCharCode;
const apply = Reflect.apply;
const BigIntCtor = BigInt;
const {
  isProxy,
  isDate,
  isRegExp,
  isMap,
  isSet,
  isArrayBuffer,
  isSharedArrayBuffer,
  isNativeError,
} = types;

const lookupGetter = (ObjectProto as unknown as {
  __lookupGetter__(this: unknown, k: PropertyKey): unknown;
}).__lookupGetter__;
const TypedArrayProto = getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayKind = getter<string | undefined>(TypedArrayProto, Symbol.toStringTag);
const typedArrayBuffer = getter<ArrayBuffer>(TypedArrayProto, "buffer");
const typedArrayOffset = getter<number>(TypedArrayProto, "byteOffset");
const typedArrayLength = getter<number>(TypedArrayProto, "length");

const dataViewBuffer = getter<ArrayBuffer>(DataView.prototype, "buffer");
const dataViewOffset = getter<number>(DataView.prototype, "byteOffset");
const dataViewLength = getter<number>(DataView.prototype, "byteLength");
const bufferLength = getter<number>(ArrayBuffer.prototype, "byteLength");
const bufferDetached = optionalGetter<boolean>(ArrayBuffer.prototype, "detached");
const mapSize = getter<number>(Map.prototype, "size");
const setSize = getter<number>(Set.prototype, "size");
const mapForEach = Map.prototype.forEach;
const setForEach = Set.prototype.forEach;
const mapSet = Map.prototype.set;
const setAdd = Set.prototype.add;
const dateGetTime = Date.prototype.getTime;
const regExpSource = getter<string>(RegExp.prototype, "source");
/** The flags, in the order `RegExp.prototype.flags` writes them. */
const REGEXP_FLAGS: readonly [string, Getter<boolean>][] = (
  [
    ["d", "hasIndices"],
    ["g", "global"],
    ["i", "ignoreCase"],
    ["m", "multiline"],
    ["s", "dotAll"],
    ["u", "unicode"],
    ["v", "unicodeSets"],
    ["y", "sticky"],
  ] as const
).flatMap(([flag, name]) => {
  const get = optionalGetter<boolean>(RegExp.prototype, name);
  return get === undefined ? [] : [[flag, get] as [string, Getter<boolean>]];
});
const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean })
  .isWellFormed;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const regExpTest = RegExp.prototype.test;
const bigIntToString = BigInt.prototype.toString as (this: bigint, radix?: number) => string;
/** V8's own `stack` accessor, the same for every error (JavaScriptCore makes `stack` data). */
const nativeStack = Object.getOwnPropertyDescriptor(new Error(), "stack")?.get;
const initialPrepare = (Error as { prepareStackTrace?: unknown }).prepareStackTrace;

type ViewCtor = new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView;
const globals = globalThis as unknown as Record<string, unknown>;
const VIEW_CTORS = VIEW_KINDS.map((name) => name === "" ? undefined : globals[name]) as (
  | ViewCtor
  | undefined
)[];
const VIEW_KIND_OF = new MapCtor(VIEW_KINDS.map((name, i) => [name, i]));
const DATA_VIEW = VIEW_KIND_OF.get("DataView")!;
const ELEMENT_SIZE = VIEW_CTORS.map((ctor, i) =>
  i === DATA_VIEW ? 1 : (ctor as { BYTES_PER_ELEMENT?: number } | undefined)?.BYTES_PER_ELEMENT ?? 0
);
const ERROR_CTORS = ERROR_KINDS.map((name) => globals[name] as ErrorConstructor);
const ERROR_PROTOS = ERROR_CTORS.map((ctor) => ctor.prototype as object);
const HEX = Array.from({ length: 256 }, (_, i) => (i < 16 ? "0" : "") + i.toString(16));
const EMPTY = new Uint8ArrayCtor(0);

function wellFormed(s: string): boolean {
  return isWellFormed !== undefined ? isWellFormed.call(s) : !regExpTest.call(LONE_SURROGATE, s);
}

function hexDigit(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x57; // "0"-"9", "a"-"f"
}

/**
 * Whether `proto` is on `value`'s prototype chain, walked without ever calling a Proxy's
 * trap (a Proxy on the chain ends the walk).
 *
 * @param value An object that is not itself a Proxy.
 * @param proto The prototype to look for.
 * @returns Whether it was found within 32 steps.
 */
export function inheritsFrom(value: object, proto: object): boolean {
  let p = getPrototypeOf(value) as object | null;
  for (let steps = 0; p !== null && steps < 32 && !isProxy(p); steps++) {
    if (p === proto) return true;
    p = getPrototypeOf(p) as object | null;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Encoding

/** What `transfer` lists, as the encoder looks it up. */
export interface TransferPlan {
  /** Each handle: its kind, its descriptor's index, its flags. */
  readonly handles: ReadonlyMap<object, { kind: number; index: number; flags: number }>;
  /** Each raw descriptor number: its index. */
  readonly raw: ReadonlyMap<number, number>;
  /** Whether each descriptor index appeared in the value. */
  readonly seen: boolean[];
}

/** A value that cannot be sent: why, and where (built up as the error unwinds). */
class CloneError extends Error {
  path: string[] = [];
}

/**
 * The error for a value that cannot be sent, as `postMessage` throws it: a `TypeError`
 * whose message starts with `DataCloneError:`, and whose `code` is `"DataCloneError"`.
 *
 * @param what What is wrong.
 * @returns The error.
 */
export function dataCloneError(what: string): TypeError {
  const e = new TypeError(`DataCloneError: ${what}`);
  (e as { code?: string }).code = "DataCloneError";
  return e;
}

const textEncoder = new TextEncoder();

/**
 * Writes values in the port format into one growing buffer, kept from message to message:
 * a warm encoder allocates only an array of keys per plain object and an entry per object
 * in its table of references (for cycles), plus a larger buffer when a message outgrows
 * every earlier one.
 */
export class Encoder {
  #buffer = new Uint8ArrayCtor(new ArrayBufferCtor(4096));
  #view = new DataViewCtor(this.#buffer.buffer);
  #pos = 0;
  #depth = 0;
  /** The objects met so far, by reference id: the first LIST_MAX here, all in `#ids` after. */
  readonly #list: (object | undefined)[] = [];
  #count = 0;
  readonly #ids = new MapCtor<object, number>();
  #plan: TransferPlan | null = null;
  readonly #isHandle: (value: object) => boolean;
  /** ArrayBuffers of the blob section, in order: views of the caller's memory. */
  readonly blobs: Uint8Array[] = [];
  /** Their total size. */
  blobBytes = 0;

  /**
   * @param isHandle Tells handles (which must be listed in `transfer`) apart from other
   *   objects, for the error message.
   */
  constructor(isHandle: (value: object) => boolean = () => false) {
    this.#isHandle = isHandle;
  }

  /** The buffer the last `encode` wrote into (valid until the next `encode`). */
  get bytes(): Uint8Array {
    return this.#buffer;
  }

  /** A `DataView` of {@linkcode Encoder.bytes}. */
  get view(): DataView {
    return this.#view;
  }

  /**
   * Encodes `value` from byte `start` on (the bytes before are left for the caller's
   * headers).
   *
   * @param value The value.
   * @param start Where the value stream starts in `bytes`.
   * @param plan The transferred handles, if any.
   * @returns Where the value stream ends.
   * @throws {TypeError} A `DataCloneError` for a value that cannot be sent, naming where
   *   it is.
   */
  encode(value: unknown, start: number, plan: TransferPlan | null): number {
    this.#pos = start;
    this.#depth = 0;
    this.#plan = plan;
    this.blobs.length = 0;
    this.blobBytes = 0;
    this.#ensure(0);
    try {
      this.#value(value);
    } catch (e) {
      this.blobs.length = 0;
      if (e instanceof CloneError) {
        const at = ` (at value${e.path.reverse().join("")})`;
        throw dataCloneError(`${e.message}${at}`);
      }
      if (e instanceof RangeError) {
        throw dataCloneError(`the value is too large or too deeply nested: ${e.message}`);
      }
      throw e;
    } finally {
      if (this.#count > LIST_MAX) this.#ids.clear();
      this.#list.fill(undefined, 0, Math.min(this.#count, LIST_MAX));
      this.#count = 0;
      this.#plan = null;
    }
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.#pos + n) size *= 2;
    const grown = new Uint8ArrayCtor(new ArrayBufferCtor(size));
    grown.set(new Uint8ArrayCtor(this.#buffer.buffer, 0, Math.min(this.#pos, this.#buffer.length)));
    this.#buffer = grown;
    this.#view = new DataViewCtor(grown.buffer);
  }

  #byte(b: number): void {
    if (this.#pos >= this.#buffer.length) this.#ensure(1);
    this.#buffer[this.#pos++] = b;
  }

  #varuint(n: number): void {
    this.#ensure(5);
    const b = this.#buffer;
    let p = this.#pos;
    while (n >= 0x80) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    this.#pos = p;
  }

  /** A varuint of exactly `width` bytes (not the shortest form when it need not be), at `at`. */
  #varuintAt(at: number, n: number, width: number): void {
    const b = this.#buffer;
    for (let i = 0; i < width - 1; i++) {
      b[at + i] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[at + width - 1] = n;
  }

  #fail(what: string): never {
    throw new CloneError(what);
  }

  #value(value: unknown): void {
    switch (typeof value) {
      case "number":
        return this.#number(value);
      case "string":
        return this.#string(value);
      case "boolean":
        return this.#byte(value ? T_TRUE : T_FALSE);
      case "undefined":
        return this.#byte(T_UNDEFINED);
      case "bigint":
        return this.#bigint(value);
      case "object":
        if (value === null) return this.#byte(T_NULL);
        return this.#object(value);
      case "function":
        return this.#fail("a function cannot be sent");
      default:
        return this.#fail(`a ${typeof value} cannot be sent`);
    }
  }

  #number(n: number): void {
    const plan = this.#plan;
    if (plan !== null && plan.raw.size > 0) {
      const index = plan.raw.get(n);
      if (index !== undefined) return this.#handle(0, index, 0);
    }
    if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
      this.#byte(T_INT);
      this.#varuint(((n << 1) ^ (n >> 31)) >>> 0);
      return;
    }
    this.#ensure(9);
    this.#buffer[this.#pos] = T_FLOAT;
    this.#view.setFloat64(this.#pos + 1, n, true);
    this.#pos += 9;
  }

  #string(s: string): void {
    const length = s.length;
    if (length < 128) {
      // ASCII, the usual key or short text: one byte per character, no encoder call.
      this.#ensure(2 + length);
      const b = this.#buffer;
      const start = this.#pos;
      let p = start + 2;
      let i = 0;
      for (; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === length) {
        b[start] = T_UTF8;
        b[start + 1] = length;
        this.#pos = p;
        return;
      }
    }
    if (!wellFormed(s)) return this.#utf16(s);
    const max = length * 3;
    const width = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : max < 0x10000000 ? 4 : 5;
    this.#ensure(1 + width + max);
    const at = this.#pos + 1;
    this.#buffer[this.#pos] = T_UTF8;
    const into = new Uint8ArrayCtor(this.#buffer.buffer, at + width, max);
    const written = textEncoder.encodeInto(s, into).written;
    this.#varuintAt(at, written, width);
    this.#pos = at + width + written;
  }

  #utf16(s: string): void {
    this.#byte(T_UTF16);
    this.#varuint(s.length);
    this.#ensure(2 * s.length);
    const b = this.#buffer;
    let p = this.#pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      b[p++] = c & 0xff;
      b[p++] = c >>> 8;
    }
    this.#pos = p;
  }

  #bigint(n: bigint): void {
    const negative = n < 0n;
    const hex = bigIntToString.call(negative ? -n : n, 16);
    const digits = hex === "0" ? 0 : hex.length;
    const count = (digits + 1) >>> 1;
    this.#byte(T_BIGINT);
    this.#byte(negative ? 1 : 0);
    this.#varuint(count);
    this.#ensure(count);
    const b = this.#buffer;
    // Little-endian bytes: the last two hexadecimal digits first.
    for (let i = 0; i < count; i++) {
      const end = digits - 2 * i;
      const lo = hexDigit(hex.charCodeAt(end - 1));
      const hi = end >= 2 ? hexDigit(hex.charCodeAt(end - 2)) : 0;
      b[this.#pos + i] = (hi << 4) | lo;
    }
    this.#pos += count;
  }

  #handle(kind: number, index: number, flags: number): void {
    this.#plan!.seen[index] = true;
    this.#byte(T_HANDLE);
    this.#byte(kind);
    this.#varuint(index);
    this.#byte(flags);
  }

  /**
   * Registers an object; `true` when it was seen before (a reference was written). The
   * first objects are looked up in a short list (a `Map` costs 25–40 ns an operation and
   * gives each object an identity hash); the `Map` takes over from the 33rd.
   */
  #seen(value: object): boolean {
    const list = this.#list;
    const count = this.#count;
    let id = -1;
    if (count <= LIST_MAX) {
      for (let i = 0; i < count; i++) {
        if (list[i] === value) {
          id = i;
          break;
        }
      }
    } else id = this.#ids.get(value) ?? -1;
    if (id >= 0) {
      this.#byte(T_REF);
      this.#varuint(id);
      return true;
    }
    if (count < LIST_MAX) list[count] = value;
    else {
      if (count === LIST_MAX) { for (let i = 0; i < count; i++) this.#ids.set(list[i]!, i); }
      this.#ids.set(value, count);
    }
    this.#count = count + 1;
    return false;
  }

  #object(value: object): void {
    if (this.#seen(value)) return;
    if (isProxy(value)) return this.#fail("a Proxy cannot be sent");
    const plan = this.#plan;
    if (plan !== null) {
      const handle = plan.handles.get(value);
      if (handle !== undefined) return this.#handle(handle.kind, handle.index, handle.flags);
    }
    if (++this.#depth > MAX_DEPTH) {
      this.#fail(`the value is nested deeper than ${MAX_DEPTH} levels`);
    }
    const proto = getPrototypeOf(value);
    if (proto === ObjectProto || proto === null) this.#plain(value as Record<string, unknown>);
    else if (proto === ArrayProto && isArray(value)) this.#array(value as unknown[]);
    else if (isView(value)) this.#typedView(value as ArrayBufferView);
    else if (isArrayBuffer(value)) this.#arrayBuffer(value as ArrayBuffer);
    else if (isMap(value)) this.#map(value as Map<unknown, unknown>);
    else if (isSet(value)) this.#set(value as Set<unknown>);
    else if (isDate(value)) {
      this.#ensure(9);
      this.#buffer[this.#pos] = T_DATE;
      this.#view.setFloat64(this.#pos + 1, dateGetTime.call(value), true);
      this.#pos += 9;
    } else if (isRegExp(value)) this.#regexp(value);
    else if (isNativeError(value)) this.#error(value as Error);
    else if (isSharedArrayBuffer(value)) {
      this.#fail("a SharedArrayBuffer cannot be sent to another process");
    } else if (this.#isHandle(value)) {
      this.#fail(`${describeObject(value)} is sent only when it is listed in transfer`);
    } else this.#fail(`${describeObject(value)} cannot be sent`);
    this.#depth--;
  }

  /** Reads an own data property, refusing a getter (which would run the caller's code). */
  #field(value: object, key: string): unknown {
    if (lookupGetter.call(value, key) !== undefined) {
      this.#fail(`the property ${JSON.stringify(key)} is a getter, and getters are not run`);
    }
    return (value as Record<string, unknown>)[key];
  }

  #plain(value: Record<string, unknown>): void {
    const keys = objectKeys(value);
    this.#byte(T_OBJECT);
    this.#varuint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.#string(key);
      try {
        this.#value(this.#field(value, key));
      } catch (e) {
        if (e instanceof CloneError) e.path.push(`.${key}`);
        throw e;
      }
    }
  }

  #array(value: unknown[]): void {
    const length = value.length;
    this.#byte(T_ARRAY);
    this.#varuint(length);
    // Reading a hole walks the prototypes: ordinary ones only, never a Proxy.
    if (getPrototypeOf(ArrayProto) !== ObjectProto) {
      this.#fail("arrays cannot be sent while Array.prototype has another prototype");
    }
    for (let i = 0; i < length; i++) {
      try {
        if (lookupGetter.call(value, i) !== undefined) {
          if (!hasOwn(value, i)) {
            this.#byte(T_HOLE);
            continue;
          }
          this.#fail("the element is a getter, and getters are not run");
        }
        const element = value[i];
        if (element === undefined && !hasOwn(value, i)) this.#byte(T_HOLE);
        else this.#value(element);
      } catch (e) {
        if (e instanceof CloneError) e.path.push(`[${i}]`);
        throw e;
      }
    }
  }

  #map(value: Map<unknown, unknown>): void {
    this.#byte(T_MAP);
    this.#varuint(mapSize.call(value));
    mapForEach.call(value, (v, k) => {
      this.#value(k);
      this.#value(v);
    });
  }

  #set(value: Set<unknown>): void {
    this.#byte(T_SET);
    this.#varuint(setSize.call(value));
    setForEach.call(value, (v) => this.#value(v));
  }

  #regexp(value: object): void {
    this.#byte(T_REGEXP);
    this.#string(regExpSource.call(value));
    let flags = "";
    for (const [flag, get] of REGEXP_FLAGS) if (get.call(value)) flags += flag;
    this.#string(flags);
  }

  #error(value: Error): void {
    let kind = 0;
    let proto = getPrototypeOf(value) as object | null;
    for (let steps = 0; proto !== null && steps < 32 && !isProxy(proto); steps++) {
      const k = ERROR_PROTOS.indexOf(proto);
      if (k >= 0) {
        kind = k;
        break;
      }
      proto = getPrototypeOf(proto) as object | null;
    }
    const own = (key: string) => hasOwn(value, key) && lookupGetter.call(value, key) === undefined;
    const message = own("message") ? (value as { message: unknown }).message : undefined;
    let stack: unknown;
    if (own("stack")) stack = (value as { stack: unknown }).stack;
    else if (
      nativeStack !== undefined && hasOwn(value, "stack") &&
      lookupGetter.call(value, "stack") === nativeStack &&
      (Error as { prepareStackTrace?: unknown }).prepareStackTrace === initialPrepare
    ) stack = nativeStack.call(value);
    const hasCause = own("cause");
    const fields = (typeof message === "string" ? E_MESSAGE : 0) |
      (typeof stack === "string" ? E_STACK : 0) | (hasCause ? E_CAUSE : 0);
    this.#byte(T_ERROR);
    this.#byte(kind);
    this.#byte(fields);
    if (fields & E_MESSAGE) this.#string(message as string);
    if (fields & E_STACK) this.#string(stack as string);
    if (hasCause) {
      try {
        this.#value((value as { cause: unknown }).cause);
      } catch (e) {
        if (e instanceof CloneError) e.path.push(".cause");
        throw e;
      }
    }
  }

  #arrayBuffer(value: ArrayBuffer): void {
    if (bufferDetached !== undefined && bufferDetached.call(value)) {
      this.#fail("a detached ArrayBuffer cannot be sent");
    }
    const length = bufferLength.call(value);
    const bytes = new Uint8ArrayCtor(value, 0, length);
    if (length >= BLOB_MIN) {
      this.#byte(T_BLOB);
      this.#varuint(length);
      this.blobs.push(bytes);
      this.blobBytes += length;
      return;
    }
    this.#byte(T_BUFFER);
    this.#varuint(length);
    this.#ensure(length);
    this.#buffer.set(bytes, this.#pos);
    this.#pos += length;
  }

  #typedView(value: ArrayBufferView): void {
    const name = typedArrayKind.call(value);
    let kind: number | undefined;
    let buffer: ArrayBuffer;
    let offset: number;
    let length: number;
    if (name === undefined) {
      kind = DATA_VIEW;
      buffer = dataViewBuffer.call(value);
      offset = dataViewOffset.call(value);
      length = dataViewLength.call(value);
    } else {
      kind = VIEW_KIND_OF.get(name);
      if (kind === undefined) this.#fail(`a ${name} cannot be sent`);
      buffer = typedArrayBuffer.call(value);
      offset = typedArrayOffset.call(value);
      length = typedArrayLength.call(value);
    }
    this.#ensure(12);
    this.#buffer[this.#pos++] = T_VIEW;
    this.#buffer[this.#pos++] = kind;
    this.#varuint(offset);
    this.#varuint(length);
    this.#object(buffer);
  }
}

/** Names an object's class for an error message, without running any of its code. */
function describeObject(value: object): string {
  const proto = getPrototypeOf(value) as object | null;
  if (proto === null || isProxy(proto) || !hasOwn(proto, "constructor")) return "an object";
  if (lookupGetter.call(proto, "constructor") !== undefined) return "an object";
  const ctor = (proto as { constructor: unknown }).constructor;
  if (typeof ctor !== "function" || !hasOwn(ctor, "name")) return "an object";
  if (lookupGetter.call(ctor, "name") !== undefined) return "an object";
  const name = (ctor as { name: unknown }).name;
  return typeof name === "string" && name !== "" ? `an instance of ${name}` : "an object";
}

// ---------------------------------------------------------------------------------------
// Decoding

/** Makes a received handle from its kind, descriptor index and flags. */
export type HandleMaker = (kind: number, index: number, flags: number) => unknown;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Entries of the decoder's cache of short strings (a power of 2). */
const STRING_CACHE = 1024;
const UTF16_CHUNK = 4096;

/**
 * The error for a malformed message from the peer.
 *
 * @param what What is wrong.
 * @returns An `EPROTO` error.
 */
export function protocolError(what: string): IpcError {
  return IpcError.of("EPROTO", "receive", undefined, `Malformed message from the peer: ${what}`);
}

/** What one decoded value stream needs filled in afterwards. */
export interface Decoded {
  /** The value. */
  value: unknown;
  /** The ArrayBuffers of the blob section, in order, to fill with its bytes. */
  blobs: Uint8Array[];
}

/** A placeholder in the reference table for an object whose parts are being read. */
const PENDING = Symbol("pending");

/** Reads value streams; keeps its scratch space from message to message. */
export class Decoder {
  #b: Uint8Array = EMPTY;
  #view: DataView = new DataViewCtor(new ArrayBufferCtor(0));
  #base = 0;
  #pos = 0;
  #end = 0;
  #depth = 0;
  /** Bytes of the blob section not yet given to an ArrayBuffer. */
  #blobLeft = 0;
  readonly #table: unknown[] = [];
  #blobs: Uint8Array[] = [];
  #makeHandle: HandleMaker | null = null;
  readonly #usedHandles = new SetCtor<number>();
  readonly #units: number[] = [];
  /** Short ASCII strings decoded before, by a hash of their bytes. */
  readonly #strings: (string | undefined)[] = new ArrayCtor(STRING_CACHE);
  #arraysPlain = true;

  /**
   * Decodes the value stream in `bytes[start, end)`.
   *
   * @param bytes The message.
   * @param start Where the value stream starts.
   * @param end Where it ends (it must be consumed exactly).
   * @param blobBytes The size of the blob section that follows it.
   * @param makeHandle Turns a transferred descriptor into a handle, or `null` when the
   *   message carries none.
   * @returns The value and the blob buffers to fill.
   * @throws {IpcError} `EPROTO` for anything malformed; what `makeHandle` throws.
   */
  decode(
    bytes: Uint8Array,
    start: number,
    end: number,
    blobBytes: number,
    makeHandle: HandleMaker | null,
  ): Decoded {
    if (this.#view.buffer !== bytes.buffer) {
      this.#view = new DataViewCtor(bytes.buffer as ArrayBuffer);
    }
    this.#base = bytes.byteOffset;
    this.#b = bytes;
    this.#pos = start;
    this.#end = end;
    this.#depth = 0;
    this.#blobLeft = blobBytes;
    this.#makeHandle = makeHandle;
    this.#arraysPlain = getPrototypeOf(ArrayProto) === ObjectProto;
    const blobs: Uint8Array[] = this.#blobs = [];
    try {
      const value = this.#value();
      if (this.#pos !== end) throw protocolError(`${end - this.#pos} bytes after the value`);
      if (this.#blobLeft !== 0) {
        throw protocolError(`${this.#blobLeft} bytes of the blob section belong to no ArrayBuffer`);
      }
      return { value, blobs };
    } catch (e) {
      if (e instanceof IpcError) throw e;
      if (e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError) {
        throw protocolError(e.message);
      }
      throw e;
    } finally {
      this.#table.length = 0;
      this.#usedHandles.clear();
      this.#makeHandle = null;
      this.#b = EMPTY;
    }
  }

  #left(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#end - this.#pos) {
      throw protocolError(`${what} needs ${n} bytes, but ${this.#end - this.#pos} are left`);
    }
  }

  #byte(): number {
    if (this.#pos >= this.#end) throw protocolError("the value ends early");
    return this.#b[this.#pos++]!;
  }

  #varuint(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.#byte();
      if (shift === 28 && b > 0x0f) throw protocolError("a varuint exceeds 32 bits");
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
    throw protocolError("a varuint is longer than 5 bytes");
  }

  /** A count of items, each taking at least `each` bytes: never more than the bytes left allow. */
  #count(each: number, what: string): number {
    const n = this.#varuint();
    if (n * each > this.#left()) {
      throw protocolError(`${what} claims ${n} entries, but only ${this.#left()} bytes are left`);
    }
    return n;
  }

  #float(): number {
    this.#need(8, "a number");
    const n = this.#view.getFloat64(this.#base + this.#pos, true);
    this.#pos += 8;
    return n;
  }

  #value(): unknown {
    const tag = this.#byte();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT: {
        const z = this.#varuint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case T_FLOAT:
        return this.#float();
      case T_BIGINT:
        return this.#bigint();
      case T_UTF8:
        return this.#utf8();
      case T_UTF16:
        return this.#utf16();
      case T_REF: {
        const id = this.#varuint();
        if (id >= this.#table.length) throw protocolError(`reference ${id} points forward`);
        const target = this.#table[id];
        if (target === PENDING) throw protocolError(`reference ${id} points at an unfinished view`);
        return target;
      }
      case T_HANDLE:
        return this.#handle();
      default:
        return this.#object(tag);
    }
  }

  #object(tag: number): unknown {
    if (++this.#depth > MAX_DEPTH) throw protocolError(`nested deeper than ${MAX_DEPTH} levels`);
    let value: unknown;
    switch (tag) {
      case T_OBJECT:
        value = this.#plain();
        break;
      case T_ARRAY:
        value = this.#array();
        break;
      case T_DATE:
        value = new DateCtor(this.#float());
        this.#table.push(value);
        break;
      case T_REGEXP: {
        const id = this.#table.push(PENDING) - 1;
        const source = this.#string("a RegExp's source");
        const flags = this.#string("a RegExp's flags");
        value = this.#table[id] = new RegExpCtor(source, flags);
        break;
      }
      case T_MAP: {
        const map = new MapCtor();
        this.#table.push(map);
        const n = this.#count(2, "a Map");
        for (let i = 0; i < n; i++) mapSet.call(map, this.#value(), this.#value());
        value = map;
        break;
      }
      case T_SET: {
        const set = new SetCtor();
        this.#table.push(set);
        const n = this.#count(1, "a Set");
        for (let i = 0; i < n; i++) setAdd.call(set, this.#value());
        value = set;
        break;
      }
      case T_BUFFER:
      case T_BLOB:
        value = this.#arrayBuffer(tag);
        break;
      case T_VIEW:
        value = this.#typedView();
        break;
      case T_ERROR:
        value = this.#error();
        break;
      default:
        throw protocolError(`unknown tag 0x${tag.toString(16).padStart(2, "0")}`);
    }
    this.#depth--;
    return value;
  }

  #utf8(): string {
    const n = this.#varuint();
    this.#need(n, "a string");
    const b = this.#b;
    const start = this.#pos;
    this.#pos += n;
    if (n <= 24) {
      // Short ASCII (keys, mostly): looked up in a small cache of strings made before, so
      // that a key that repeats from message to message is the same string (building one
      // and using it as a key costs 3–8 times more).
      let h = n;
      for (let i = start; i < start + n; i++) {
        const c = b[i]!;
        if (c >= 0x80) return utf8.decode(new Uint8ArrayCtor(b.buffer, this.#base + start, n));
        h = (h * 31 + c) & (STRING_CACHE - 1);
      }
      const cached = this.#strings[h];
      if (cached !== undefined && cached.length === n) {
        let i = 0;
        while (i < n && cached.charCodeAt(i) === b[start + i]) i++;
        if (i === n) return cached;
      }
      let s = "";
      for (let i = start; i < start + n; i++) s += fromCharCode(b[i]!);
      this.#strings[h] = s;
      return s;
    }
    return utf8.decode(new Uint8ArrayCtor(b.buffer, this.#base + start, n));
  }

  #utf16(): string {
    const n = this.#count(2, "a UTF-16 string");
    const b = this.#b;
    let p = this.#pos;
    this.#pos += 2 * n;
    let s = "";
    const units = this.#units;
    for (let i = 0; i < n; i += UTF16_CHUNK) {
      const m = Math.min(UTF16_CHUNK, n - i);
      units.length = m;
      for (let k = 0; k < m; k++, p += 2) units[k] = b[p]! | (b[p + 1]! << 8);
      s += apply(fromCharCode, undefined, units) as string;
    }
    units.length = 0;
    return s;
  }

  /** A string where only a string may be: a key, a RegExp's parts, an error's text. */
  #string(what: string): string {
    const tag = this.#byte();
    if (tag === T_UTF8) return this.#utf8();
    if (tag === T_UTF16) return this.#utf16();
    throw protocolError(`${what} must be a string, got tag 0x${tag.toString(16)}`);
  }

  #bigint(): bigint {
    const sign = this.#byte();
    if (sign > 1) throw protocolError(`a BigInt's sign byte is ${sign}`);
    const n = this.#varuint();
    this.#need(n, "a BigInt");
    if (n === 0) return 0n;
    const b = this.#b;
    let hex = "0x";
    for (let i = this.#pos + n - 1; i >= this.#pos; i--) hex += HEX[b[i]!]!;
    this.#pos += n;
    const magnitude = BigIntCtor(hex);
    return sign === 1 ? -magnitude : magnitude;
  }

  #plain(): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    this.#table.push(object);
    const n = this.#count(3, "an object");
    for (let i = 0; i < n; i++) {
      const key = this.#string("a property name");
      const value = this.#value();
      if (key in ObjectProto) {
        defineProperty(object, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else object[key] = value;
    }
    return object;
  }

  #array(): unknown[] {
    const length = this.#count(1, "an array");
    const array = new ArrayCtor(length);
    this.#table.push(array);
    const plain = this.#arraysPlain;
    for (let i = 0; i < length; i++) {
      if (this.#pos < this.#end && this.#b[this.#pos] === T_HOLE) {
        this.#pos++;
        continue;
      }
      const value = this.#value();
      if (plain && !(i in ArrayProto)) array[i] = value;
      else {defineProperty(array, i, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });}
    }
    return array;
  }

  #arrayBuffer(tag: number): ArrayBuffer {
    const n = this.#varuint();
    if (tag === T_BUFFER) this.#need(n, "an ArrayBuffer");
    else if (n > this.#blobLeft) {
      throw protocolError(
        `an ArrayBuffer of ${n} bytes exceeds what is left of the blob section (${this.#blobLeft})`,
      );
    }
    const buffer = new ArrayBufferCtor(n);
    this.#table.push(buffer);
    const bytes = new Uint8ArrayCtor(buffer);
    if (tag === T_BUFFER) {
      bytes.set(new Uint8ArrayCtor(this.#b.buffer, this.#base + this.#pos, n));
      this.#pos += n;
    } else {
      this.#blobLeft -= n;
      if (n > 0) this.#blobs.push(bytes);
    }
    return buffer;
  }

  #typedView(): ArrayBufferView {
    const kind = this.#byte();
    const ctor = VIEW_CTORS[kind];
    if (ctor === undefined) {
      throw protocolError(
        kind < VIEW_KINDS.length
          ? `${VIEW_KINDS[kind]} is not available in this runtime`
          : `unknown view kind ${kind}`,
      );
    }
    const offset = this.#varuint();
    const length = this.#varuint();
    const id = this.#table.push(PENDING) - 1;
    const tag = this.#byte();
    let buffer: unknown;
    if (tag === T_REF) {
      const ref = this.#varuint();
      buffer = ref < id ? this.#table[ref] : undefined;
    } else if (tag === T_BUFFER || tag === T_BLOB) {
      buffer = this.#arrayBuffer(tag);
    }
    if (!(buffer instanceof ArrayBufferCtor)) {
      throw protocolError("a view's buffer is not an ArrayBuffer");
    }
    const size = ELEMENT_SIZE[kind]!;
    if (offset % size !== 0 || offset + length * size > buffer.byteLength) {
      throw protocolError(
        `a ${VIEW_KINDS[kind]} of ${length} elements at byte ${offset} does not fit its buffer`,
      );
    }
    const view = new ctor(buffer, offset, length);
    this.#table[id] = view;
    return view;
  }

  #error(): Error {
    const kind = this.#byte();
    const ctor = ERROR_CTORS[kind];
    if (ctor === undefined) throw protocolError(`unknown error kind ${kind}`);
    const fields = this.#byte();
    if (fields > 7) throw protocolError(`unknown error fields 0x${fields.toString(16)}`);
    const error = new ctor();
    this.#table.push(error);
    const define = (key: string, value: unknown) =>
      defineProperty(error, key, { value, writable: true, enumerable: false, configurable: true });
    const message = fields & E_MESSAGE ? this.#string("an error's message") : "";
    if (fields & E_MESSAGE) define("message", message);
    define(
      "stack",
      fields & E_STACK ? this.#string("an error's stack") : `${ERROR_KINDS[kind]}: ${message}`,
    );
    if (fields & E_CAUSE) define("cause", this.#value());
    return error;
  }

  #handle(): unknown {
    const kind = this.#byte();
    const index = this.#varuint();
    const flags = this.#byte();
    if (this.#makeHandle === null) {
      throw protocolError("a handle in a message that carries no descriptors");
    }
    if (kind !== 0) {
      if (this.#usedHandles.has(index)) {
        throw protocolError(`descriptor ${index} is claimed by two handles`);
      }
      this.#usedHandles.add(index);
    }
    const handle = this.#makeHandle(kind, index, flags);
    if (kind !== 0) this.#table.push(handle);
    return handle;
  }
}
