/**
 * Shared memory between processes: POSIX segments ({@linkcode SharedMemory}), System V
 * segments ({@linkcode SysVSharedMemory}, {@linkcode ftok}), anonymous segments whose
 * descriptor is handed to another process ({@linkcode memfd}), memory-mapped files
 * ({@linkcode MappedFile}), and {@linkcode ShmChannel}, a many-producer many-consumer
 * message channel in shared memory that costs no system call per message while both sides
 * are busy.
 *
 * Mapped memory is a plain `ArrayBuffer` shared with the other processes: `Atomics` on
 * `Int32Array`/`BigInt64Array` views of it are atomic across processes. Closing a handle
 * unmaps it and first detaches the buffer, so every view of it reads as length 0 instead
 * of touching memory that is gone.
 *
 * @example A channel between a Deno and a Bun process works the same within one
 * ```ts
 * import { ShmChannel } from "@sysipc/sysipc/shm";
 * const name = `/events-${Date.now()}`;
 * using producer = ShmChannel.create(name, { slots: 16, slotSize: 256 });
 * using consumer = ShmChannel.open(name); // in another process, by name
 * const received = consumer.receive({ timeout: 5000 }); // waits without blocking the loop
 * producer.sendSync("hello");
 * console.log(new TextDecoder().decode(await received)); // "hello"
 * producer.unlink();
 * ```
 *
 * @module
 */
export { type CreateOptions, ftok, type SysVKey } from "../ffi/ipc.ts";
export {
  type MemfdSeal,
  SharedMemory,
  type SharedMemoryFromFdOptions,
  type SharedMemoryOptions,
} from "./shared_memory.ts";
export { memfd, type MemfdOptions } from "./memfd.ts";
export {
  type AttachOptions,
  SysVSharedMemory,
  type SysVSharedMemoryOptions,
  type SysVSharedMemoryStat,
} from "./sysv.ts";
export { MappedFile, type MappedFileOptions, type SyncOptions } from "./mapped_file.ts";
export { MappedFd } from "./mapped_fd.ts";
export {
  ShmChannel,
  type ShmChannelOptions,
  ShmMessage,
  ShmSlot,
  type SyncWaitOptions,
} from "./channel.ts";
