/**
 * The message queue group:
 * - `mq-posix`: two POSIX queues, `ping` to the child and `pong` back (10 messages of the
 *   largest case size each);
 * - `mq-sysv`: one private System V queue, type 10 to the child and type 11 back, as in
 *   the classic demo.
 * - `mq-posix-ffi` (sync round trips): the same queues with no sysipc code, libc's
 *   `mq_send` and `mq_receive` called through the FFI binding: the runtime's floor.
 * Cases: round trips and streams (the child sends on `pong`, or with type 11), `sync`
 * (`sendSync` + `receiveSync`) and `async` (`await send` + `await receive`). Receives go
 * into one buffer (`into`), as the C loop's do.
 *
 * @module
 */
import process from "node:process";
import { libc } from "../../ffi/libc.ts";
import { MessageQueue, SysVMessageQueue } from "../../mq/mod.ts";
import { type Group, messageChild, messageParent, type MessageWay, session } from "./_group.ts";

function posixWay(send: MessageQueue, receive: MessageQueue): MessageWay {
  // Received into one buffer, as the C loop does: nothing allocated per message.
  const into = { into: new Uint8Array(receive.attributes().messageSize) };
  return {
    sendSync: (data) => send.sendSync(data),
    send: (data) => send.send(data),
    receiveSync: () => receive.receiveSync(into).data,
    receive: async () => (await receive.receive(into)).data,
  };
}

/** The POSIX round trip with no sysipc code: the runtime's floor (sync only). */
function rawPosixWay(send: MessageQueue, receive: MessageQueue): MessageWay {
  const size = receive.attributes().messageSize;
  // Over explicit ArrayBuffers: the kernel writes them through their addresses.
  const buffer = new Uint8Array(new ArrayBuffer(size));
  const priority = new Uint32Array(new ArrayBuffer(4));
  let view = buffer;
  const unsupported = () => {
    throw new Error("mq-posix-ffi measures sync calls only");
  };
  return {
    sendSync(data) {
      if (libc.mq_send(send.fd, data, data.length, 0) !== 0) throw new Error("mq_send failed");
    },
    receiveSync() {
      const n = libc.mq_receive(receive.fd, buffer, size, priority);
      if (n < 0) throw new Error("mq_receive failed");
      if (view.length !== n) view = buffer.subarray(0, n);
      return view;
    },
    send: unsupported,
    receive: unsupported,
  };
}

function sysvWay(queue: SysVMessageQueue, sendType: number, receiveType: number): MessageWay {
  // Into one buffer of the largest message a queue takes by default (msgmax, 8 KiB).
  const selection = { type: receiveType, into: new Uint8Array(8192) };
  return {
    sendSync: (data) => queue.sendSync(sendType, data),
    send: (data) => queue.send(sendType, data),
    receiveSync: () => queue.receiveSync(selection).data,
    receive: async () => (await queue.receive(selection)).data,
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
    const ways = {
      "mq-posix": posixWay(ping, pong),
      "mq-posix-ffi": rawPosixWay(ping, pong),
      "mq-sysv": sysvWay(queue, 10, 11),
    };
    return Promise.resolve(session(
      child,
      (c) => messageParent(c, ways[c.mech as keyof typeof ways]),
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
    const ways = {
      "mq-posix": posixWay(pong, ping),
      "mq-posix-ffi": rawPosixWay(pong, ping),
      "mq-sysv": sysvWay(queue, 11, 10),
    };
    for (const c of cases) await messageChild(c, ways[c.mech as keyof typeof ways]);
  },
};
