/**
 * The Worker of bench/groups/worker.ts: posts back every message it gets.
 *
 * @module
 */
/// <reference lib="deno.worker" />
self.onmessage = (e: MessageEvent) => self.postMessage(e.data);
