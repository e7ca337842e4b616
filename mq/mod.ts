/**
 * Message queues: POSIX queues with priorities ({@linkcode MessageQueue}) and System V
 * queues with message types ({@linkcode SysVMessageQueue}). The kernel keeps messages
 * until they are read, even after their sender exits.
 *
 * @example A queue between two parts of a program
 * ```ts
 * import { MessageQueue } from "@sysipc/sysipc/mq";
 * const name = `/mod-example-${Date.now()}`;
 * using queue = MessageQueue.open(name, { create: true, maxMessages: 4, messageSize: 128 });
 * await queue.send("hello", { priority: 1 });
 * const { data, priority } = await queue.receive({ timeout: 1000 });
 * console.log(new TextDecoder().decode(data), priority); // "hello" 1
 * queue.unlink();
 * ```
 *
 * @module
 */
export {
  type Message,
  MessageQueue,
  type MessageQueueAttributes,
  type MessageQueueOptions,
  type MessageReceiveInto,
  type MessageReceiveOptions,
  type MessageReceiveSyncOptions,
  type MessageSendOptions,
  type MessageSendSyncOptions,
} from "./message_queue.ts";
export {
  type SysVMessage,
  SysVMessageQueue,
  type SysVMessageQueueChanges,
  type SysVMessageQueueStat,
  type SysVReceiveOptions,
  type SysVReceiveSyncOptions,
  type SysVSelection,
  type SysVSendOptions,
  type SysVSendSyncOptions,
} from "./sysv_message_queue.ts";
export { type CreateOptions, ftok, type SysVKey } from "../ffi/ipc.ts";
