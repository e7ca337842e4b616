/**
 * Web Streams over sysipc handles.
 *
 * @module
 */

const CHUNK = 65536;

/**
 * A `ReadableStream` that reads a chunk of up to 64 KiB each time the consumer asks (no
 * read-ahead).
 *
 * @param read The handle's async read: bytes read, or `null` at end of stream.
 * @param ended Runs at end of stream, before the stream closes.
 * @param cancel Runs when the consumer cancels.
 * @returns The stream.
 */
export function readableOf(
  read: (into: Uint8Array) => Promise<number | null>,
  ended: () => void,
  cancel: () => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const chunk = new Uint8Array(CHUNK);
      const n = await read(chunk);
      if (n === null) {
        ended();
        controller.close();
      } else {
        controller.enqueue(chunk.subarray(0, n));
      }
    },
    cancel,
  }, { highWaterMark: 0 });
}
