/**
 * Helpers for the uds tests and their fixtures: descriptors of each kind to pass around
 * (an open file, a memfd), and stream framing with a checksum for the load test.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { check, libc, stableCString } from "../ffi/libc.ts";
import { runtime } from "../ffi/runtime.ts";
import assert from "node:assert/strict";
import type { UnixConnection } from "../uds/mod.ts";
import { noLeak, openFds } from "./helpers.ts";

const SYS_memfd_create = 319; // x86_64
const MFD_CLOEXEC = 1;

/**
 * A memfd holding `content`, written through a separate description so that the fd's
 * own offset stays at 0 for whoever reads it next.
 *
 * @param name The memfd's name (for /proc).
 * @param content What it holds.
 * @returns The descriptor.
 */
export async function memfdWith(name: string, content: string): Promise<number> {
  const path = stableCString(name);
  const fd = check(
    libc.syscall(SYS_memfd_create, runtime.addressOf(path), MFD_CLOEXEC, 0, 0, 0, 0),
    "memfd_create",
  );
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`/proc/self/fd/${fd}`, content);
  return fd;
}

/**
 * Opens a file read-only, close-on-exec, as a raw descriptor.
 *
 * @param path The file.
 * @returns The descriptor.
 */
export function openFile(path: string): number {
  return check(libc.open(stableCString(path), C.O_RDONLY | C.O_CLOEXEC, 0), "open", path);
}

/**
 * Reads what a descriptor has from its current offset to the end (a file, a memfd).
 *
 * @param fd The descriptor.
 * @returns The text.
 */
export function readFd(fd: number): string {
  const buf = new Uint8Array(4096);
  let out = "";
  for (let n; (n = libc.read(fd, buf, buf.length)) > 0;) {
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  return out;
}

/**
 * Reads exactly `into.length` bytes.
 *
 * @param conn The connection.
 * @param into Where they go.
 * @returns `false` at end of stream before the first byte.
 */
export async function readExactly(conn: UnixConnection, into: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < into.length) {
    const n = await conn.read(got === 0 ? into : into.subarray(got));
    if (n === null) {
      if (got === 0) return false;
      throw new Error(`end of stream inside a frame (${got} of ${into.length} bytes)`);
    }
    got += n;
  }
  return true;
}

/**
 * FNV-1a over the bytes.
 *
 * @param bytes The data.
 * @returns The 32-bit checksum.
 */
export function checksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** The bytes of a frame's header: the payload's length and checksum. */
export const HEADER = 8;
/** The largest payload of a load-test frame. */
export const MAX_PAYLOAD = 1000;

/**
 * `noLeak` (from helpers.ts), counting sockets too.
 *
 * @param body The test body.
 */
export async function noSocketLeak(body: () => unknown): Promise<void> {
  const sockets = () =>
    new Set(
      [...openFds()].filter(([, t]) => t.startsWith("socket:")).map(([fd, t]) => `${fd}${t}`),
    );
  const before = sockets();
  await noLeak(body);
  const leaked = [...sockets()].filter((s) => !before.has(s));
  assert.deepEqual(leaked, [], "sockets left open");
}
