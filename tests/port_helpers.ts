/**
 * Helpers for the port tests and their fixtures: a corpus of values of every kind a port
 * carries, the same in every process (message `i` is `corpusValue(i)`, so the receiving
 * side checks what arrived and its order), and a raw client for hostile frames.
 *
 * @module
 */

/** Every how many messages a 1 MiB typed array comes. */
export const BIG_EVERY = 500;

const TYPED = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
] as const;

function cyclic(i: number): unknown {
  const node: Record<string, unknown> = { i, name: `node ${i}` };
  node.self = node;
  const list: unknown[] = [node, i];
  list.push(list);
  const map = new Map<unknown, unknown>([["node", node]]);
  node.map = map;
  const set = new Set<unknown>([node, list]);
  node.set = set;
  return { node, list, map, set, again: node };
}

function nested(depth: number): unknown {
  let value: unknown = "bottom";
  for (let d = 0; d < depth; d++) value = d % 2 ? [value] : { d, value };
  return value;
}

/**
 * The value of message `i`: the kinds take turns, and every {@linkcode BIG_EVERY}th is a
 * 1 MiB typed array.
 *
 * @param i The message's index.
 * @returns The value.
 */
export function corpusValue(i: number): unknown {
  if (i % BIG_EVERY === BIG_EVERY - 1) {
    const big = (i / BIG_EVERY) % 2 ? new Float64Array(131072) : new Uint8Array(1 << 20);
    for (let k = 0; k < big.length; k += 97) big[k] = (k + i) % 251;
    return big;
  }
  const shared = new ArrayBuffer(64);
  new Uint8Array(shared).forEach((_, k, a) => a[k] = (k * 7 + i) & 0xff);
  switch (i % 24) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return i % 48 === 2;
    case 3:
      return i - 5000;
    case 4:
      return [i + 0.5, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, -(2 ** 31) - 1][i % 7];
    case 5:
      return (BigInt(i) ** 9n) * (i % 2 ? -1n : 1n);
    case 6:
      return `message ${i}`;
    case 7:
      return `ünïcödé ✓ 😀 ${i} \ud800 lone, BOM \ufeff`;
    case 8:
      return { i, text: "plain", nested: { list: [1, "two", { three: 3 }], empty: {} }, ok: true };
    case 9:
      // deno-lint-ignore no-sparse-arrays
      return [i, , "hole before me", undefined, , null];
    case 10:
      return new Date(1_700_000_000_000 + i);
    case 11:
      return i % 2 ? /^a+(b|c)*$/gimsuy : new RegExp(`x${i}`, "d");
    case 12:
      return new Map<unknown, unknown>([[i, "number key"], [{ k: i }, [i]], ["s", new Set([i])]]);
    case 13:
      return new Set<unknown>([i, `${i}`, { i }, [i]]);
    case 14:
      return shared;
    case 15: {
      const Kind = TYPED[i % TYPED.length]!;
      return new Kind(shared, 8, 8 / Kind.BYTES_PER_ELEMENT);
    }
    case 16:
      return [new BigInt64Array([BigInt(i), -1n]), new BigUint64Array([2n ** 64n - 1n])];
    case 17:
      return new DataView(shared, 4, 20);
    case 18: {
      const kinds = [
        Error,
        TypeError,
        RangeError,
        SyntaxError,
        ReferenceError,
        EvalError,
        URIError,
      ];
      return new kinds[i % kinds.length]!(`error ${i}`, { cause: { i, why: "because" } });
    }
    case 19:
      return cyclic(i);
    case 20: {
      const views = [new Uint8Array(shared), new Uint16Array(shared, 2, 4), new DataView(shared)];
      const same = { i };
      return { views, same, again: same };
    }
    case 21:
      return nested(100 + (i % 50));
    case 22:
      return "long string ".repeat(2000) + i; // 24 KB: through the ring
    default: {
      const mid = new Uint32Array(16384); // 64 KiB
      mid.fill(i);
      return { mid, i };
    }
  }
}
