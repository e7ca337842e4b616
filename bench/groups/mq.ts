/**
 * The message queue group:
 * - `mq-posix`: two POSIX queues, `ping` to the child and `pong` back (10 messages of the
 *   largest case size each);
 * - `mq-sysv`: one private System V queue, type 10 to the child and type 11 back, as in
 *   the classic demo.
 * - `mq-posix-ffi` and `mq-sysv-ffi`: the same queues with no sysipc code, libc called
 *   through the FFI binding (sync: blocking receives; async: non-blocking ones and
 *   `sched_yield` until the peer has answered): the runtime's floor.
 * Cases: round trips and streams (the child sends on `pong`, or with type 11), `sync`
 * (`sendSync` + `receiveSync`) and `async` (`await send` + `await receive`). Receives go
 * into one buffer (`into`), as the C loop's do.
 *
 * @module
 */
import process from "node:process";
import { C } from "../../ffi/constants.ts";
import { libc, longArgument } from "../../ffi/libc.ts";
import { timespec } from "../../ffi/structs.ts";
import { type Message, MessageQueue, type SysVMessage, SysVMessageQueue } from "../../mq/mod.ts";
import { messageBuffer } from "../../mq/sysv_message_queue.ts";
import { type Group, messageChild, messageParent, type MessageWay, session } from "./_group.ts";

function posixWay(send: MessageQueue, receive: MessageQueue): MessageWay<Message> {
  // Received into one buffer, as the C loop does: nothing allocated per message.
  const into = { into: new Uint8Array(receive.attributes().messageSize) };
  return {
    sendSync: (data) => send.sendSync(data),
    send: (data) => send.send(data),
    receiveSync: () => receive.receiveSync(into),
    receive: () => receive.receive(into),
    data: (message) => message.data,
  };
}

/**
 * The POSIX round trip with no sysipc code: the runtime's floor. Sync blocks in
 * `mq_receive`; async, as `eventfd-ffi` in the sem group, tries `mq_timedreceive` with a
 * deadline in the past and calls `sched_yield` until the peer has answered.
 */
function rawPosixWay(send: MessageQueue, receive: MessageQueue): MessageWay<Uint8Array> {
  const size = receive.attributes().messageSize;
  // Over explicit ArrayBuffers: the kernel writes them through their addresses.
  const buffer = new Uint8Array(new ArrayBuffer(size));
  const priority = new Uint32Array(new ArrayBuffer(4));
  const past = new DataView(new ArrayBuffer(timespec.size)); // 1970: never waits
  let view = buffer;
  return rawWay(
    (data) => {
      if (libc.mq_send(send.fd, data, data.length, 0) !== 0) throw new Error("mq_send failed");
    },
    () => libc.mq_receive(receive.fd, buffer, size, priority),
    () => libc.mq_timedreceive(receive.fd, buffer, size, priority, past),
    (n) => view.length === n ? view : view = buffer.subarray(0, n),
  );
}

/**
 * The System V round trip with no sysipc code: the runtime's floor. The text is copied
 * behind the type and out of the received `struct msgbuf`, as the C loop does, in
 * buffers placed as sysipc places its own; `msgrcv` through the symbol table's fast-path
 * alias. Sync blocks; async tries with `IPC_NOWAIT` and calls `sched_yield` until the peer
 * has answered.
 */
function rawSysvWay(
  queue: SysVMessageQueue,
  sendType: number,
  receiveType: number,
): MessageWay<Uint8Array> {
  const MSGMAX = 8192, HEADER = 8;
  // Over explicit ArrayBuffers (the kernel reads and writes them through their addresses),
  // the text aligned as sysipc aligns it.
  const out = messageBuffer(MSGMAX);
  new DataView(out.buffer, out.byteOffset).setUint32(0, sendType, true);
  const message = messageBuffer(MSGMAX);
  const text = message.subarray(HEADER);
  const into = new Uint8Array(MSGMAX);
  const size = longArgument(MSGMAX), type = longArgument(receiveType);
  const id = queue.id;
  return rawWay(
    (data) => {
      out.set(data, HEADER);
      if (libc.msgsnd(id, out, data.length, 0) !== 0) throw new Error("msgsnd failed");
    },
    () => libc.msgrcv_hot(id, message, size, type, 0),
    () => libc.msgrcv_hot(id, message, size, type, C.IPC_NOWAIT),
    (n) => {
      into.set(text.subarray(0, n));
      return into.subarray(0, n);
    },
  );
}

/**
 * A floor's way, from bare calls: a send; a blocking receive and one that never waits,
 * each giving the message's length or -1; and the message of a length. Async calls do
 * the same, a send returning a settled promise, a receive trying and calling
 * `sched_yield` until a message is there.
 */
function rawWay(
  sendSync: (data: Uint8Array) => void,
  receiveBlocking: () => number,
  receiveNow: () => number,
  view: (n: number) => Uint8Array,
): MessageWay<Uint8Array> {
  const sent = Promise.resolve();
  return {
    sendSync,
    receiveSync() {
      const n = receiveBlocking();
      if (n < 0) throw new Error("a blocking receive failed");
      return view(n);
    },
    send(data) {
      sendSync(data);
      return sent;
    },
    receive() {
      let n;
      while ((n = receiveNow()) < 0) libc.sched_yield();
      return Promise.resolve(view(n));
    },
    data: (bytes) => bytes,
  };
}

function sysvWay(
  queue: SysVMessageQueue,
  sendType: number,
  receiveType: number,
): MessageWay<SysVMessage> {
  // Into one buffer of the largest message a queue takes by default (msgmax, 8 KiB).
  const selection = { type: receiveType, into: new Uint8Array(8192) };
  return {
    sendSync: (data) => queue.sendSync(sendType, data),
    send: (data) => queue.send(sendType, data),
    receiveSync: () => queue.receiveSync(selection),
    receive: () => queue.receive(selection),
    data: (message) => message.data,
  };
}

export const group: Group = {
  start(cases, launch) {
    const base = `/sysipc-bench-${process.pid}`;
    const options = {
      create: true,
      exclusive: true,
      maxMessages: 10,
      messageSize: Math.max(
        1,
        ...cases.filter((c) => c.mech.startsWith("mq-posix")).map((c) => c.size),
      ),
    };
    const ping = MessageQueue.open(`${base}-ping`, options);
    const pong = MessageQueue.open(`${base}-pong`, options);
    const queue = SysVMessageQueue.get("private", { create: true });
    const child = launch([base, String(queue.id)]);
    const ways: Record<string, MessageWay> = {
      "mq-posix": posixWay(ping, pong),
      "mq-posix-ffi": rawPosixWay(ping, pong),
      "mq-sysv": sysvWay(queue, 10, 11),
      "mq-sysv-ffi": rawSysvWay(queue, 10, 11),
    };
    return Promise.resolve(session(
      child,
      (c) => messageParent(c, ways[c.mech]!),
      () => {
        for (const q of [ping, pong]) {
          q.unlink();
          q.close();
        }
        queue.remove();
      },
    ));
  },
  async child(cases, [base, id]) {
    using ping = MessageQueue.open(`${base}-ping`, { readOnly: true });
    using pong = MessageQueue.open(`${base}-pong`, { writeOnly: true });
    using queue = SysVMessageQueue.fromId(Number(id));
    const ways: Record<string, MessageWay> = {
      "mq-posix": posixWay(pong, ping),
      "mq-posix-ffi": rawPosixWay(pong, ping),
      "mq-sysv": sysvWay(queue, 11, 10),
      "mq-sysv-ffi": rawSysvWay(queue, 11, 10),
    };
    for (const c of cases) await messageChild(c, ways[c.mech]!);
  },
};
