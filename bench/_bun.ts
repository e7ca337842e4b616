/**
 * The few `Bun` socket APIs bench/groups/unix.ts uses, typed locally so
 * `deno check` can check the bench scripts without bun-types. It measures nothing itself.
 *
 * @module
 */

/** A connected `Bun.listen`/`Bun.connect` socket. */
export interface BunSocket {
  /** Writes without buffering; returns the bytes written (maybe fewer), or -1 when closed. */
  write(data: Uint8Array): number;
  /** Closes the socket. */
  end(): void;
}

/** Callbacks of a Bun socket. */
export interface BunSocketHandler {
  open?(socket: BunSocket): void;
  data?(socket: BunSocket, data: Uint8Array): void;
  /** The socket can take more after a short write. */
  drain?(socket: BunSocket): void;
  close?(socket: BunSocket, error?: Error): void;
  error?(socket: BunSocket, error: Error): void;
}

/** Options of `Bun.listen` and `Bun.connect` for a Unix-domain socket. */
export interface BunUnixOptions {
  unix: string;
  socket: BunSocketHandler;
}

/** The part of the `Bun` global used here. */
export interface BunApi {
  listen(options: BunUnixOptions): { stop(closeActiveConnections?: boolean): void };
  connect(options: BunUnixOptions): Promise<BunSocket>;
}

/**
 * The `Bun` global.
 *
 * @returns It.
 * @throws {Error} When not running on Bun.
 */
export function bunApi(): BunApi {
  const bun = (globalThis as { Bun?: BunApi }).Bun;
  if (bun === undefined) throw new Error("Not running on Bun");
  return bun;
}
