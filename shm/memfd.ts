/**
 * Anonymous shared memory: {@linkcode memfd}.
 *
 * @module
 */
import { C } from "../ffi/constants.ts";
import { check, cString, libc } from "../ffi/libc.ts";
import { checkBoolean, checkSize, Mapping } from "./mapping.ts";
import { type MemfdSeal, newSharedMemory, sealBits, type SharedMemory } from "./shared_memory.ts";

/** Options of {@linkcode memfd}. */
export interface MemfdOptions {
  /**
   * Seals to add once the segment is made and mapped (see {@linkcode MemfdSeal}), such as
   * `["shrink", "grow"]` so that no process holding the descriptor can resize it under
   * another's mapping. Default: none (`SharedMemory.addSeals` adds some later).
   */
  seals?: MemfdSeal[];
  /**
   * Leave the descriptor open across `exec` (no `MFD_CLOEXEC`). Default `false`: hand it to
   * a child with `spawn`'s `fds` instead, which works either way.
   */
  inheritable?: boolean;
}

const MAX_NAME_BYTES = 249;

/**
 * Creates an anonymous shared memory segment (`memfd_create`): it has no name in the
 * filesystem and lives as long as a descriptor or a mapping of it does. Share it by handing
 * its `fd` to another process (`spawn`'s `fds`, or `SCM_RIGHTS` over a Unix socket), which
 * maps it with `SharedMemory.fromFd`.
 *
 * @example A child process reads what the parent wrote
 * ```ts
 * import { memfd } from "@sysipc/sysipc/shm";
 * import { spawn } from "@sysipc/sysipc/pipe";
 * using shm = memfd("greeting", 4096, { seals: ["shrink", "grow"] });
 * shm.bytes.set(new TextEncoder().encode("hi from the parent\n"));
 * // The child sees the same memory through fd 3: here `head` reads the first line of it.
 * const child = spawn("head", ["-n", "1", "/dev/fd/3"], { fds: { 3: shm.fd } });
 * await child.status; // prints "hi from the parent"
 * ```
 *
 * @param name A label for debugging (it shows in `/proc/<pid>/fd` as `/memfd:<name>`):
 *   1–249 bytes of UTF-8, no NUL. Several segments may share a label.
 * @param size The size in bytes, 1 or more.
 * @param options `seals` and `inheritable`.
 * @returns The mapped segment; its `name` is `undefined`.
 * @throws {TypeError} For a label that is empty, too long or contains NUL, or options of
 *   the wrong type.
 * @throws {RangeError} For a `size` below 1 or above `platform.maxMapping`.
 * @throws {IpcError} `EMFILE`, `ENOMEM`; from `F_ADD_SEALS` (see `SharedMemory.addSeals`).
 */
export function memfd(name: string, size: number, options?: MemfdOptions): SharedMemory {
  const label = cString(name, "name");
  if (label.length - 1 > MAX_NAME_BYTES) {
    throw new TypeError(`name must be at most ${MAX_NAME_BYTES} bytes, got ${label.length - 1}`);
  }
  checkSize(size);
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError("options must be an object");
  }
  const seals = options?.seals === undefined ? 0 : sealBits(options.seals);
  const inheritable = checkBoolean(options?.inheritable, "inheritable");
  const flags = C.MFD_ALLOW_SEALING | (inheritable ? 0 : C.MFD_CLOEXEC);
  const fd = check(libc.memfd_create(label, flags), "memfd_create", name);
  let mapping: Mapping | undefined;
  try {
    check(libc.ftruncate(fd, size), "ftruncate", name);
    mapping = Mapping.map(fd, size, false, name);
    if (seals !== 0) check(libc.fcntl(fd, C.F_ADD_SEALS, seals), "fcntl(F_ADD_SEALS)", name);
  } catch (e) {
    mapping?.unmap();
    libc.close(fd);
    throw e;
  }
  return newSharedMemory(fd, mapping, false);
}
