/**
 * The message queue group:
 * - `mq-posix`: two POSIX queues, `ping` to the child and `pong` back (10 messages of the
 *   largest case size each);
 * - `mq-sysv`: one private System V queue, type 10 to the child and type 11 back, as in
 *   the classic demo.
 * Cases: round trips and streams (the child sends on `pong`, or with type 11), `sync`
 * (`sendSync` + `receiveSync`) and `async` (`await send` + `await receive`).
 *
 * @module
 */
import process from "node:process";
import { MessageQueue, SysVMessageQueue } from "../../mq/mod.ts";
import { type Case, caseKey, mark, timedLoop, type Timer, verify } from "./_common.ts";
import { type Group, result, session } from "./_group.ts";

/** One direction of a queue, sync and async. */
interface Way {
  sendSync(data: Uint8Array): void;
  send(data: Uint8Array): Promise<void>;
  receiveSync(): Uint8Array;
  receive(): Promise<Uint8Array>;
}

function posixWay(send: MessageQueue, receive: MessageQueue): Way {
  return {
    sendSync: (data) => send.sendSync(data),
    send: (data) => send.send(data),
    receiveSync: () => receive.receiveSync().data,
    receive: async () => (await receive.receive()).data,
  };
}

function sysvWay(queue: SysVMessageQueue, sendType: number, receiveType: number): Way {
  const selection = { type: receiveType };
  return {
    sendSync: (data) => queue.sendSync(sendType, data),
    send: (data) => queue.send(sendType, data),
    receiveSync: () => queue.receiveSync(selection).data,
    receive: async () => (await queue.receive(selection)).data,
  };
}

async function parentCase(c: Case, way: Way) {
  const where = `parent ${caseKey(c)}`;
  const msg = new Uint8Array(c.size);
  let bytes = 0;
  let timer: Timer;
  const sync = c.mode === "sync";
  if (c.kind === "rtt") {
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          mark(msg, i);
          way.sendSync(msg);
          verify(way.receiveSync(), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        }
        : async (i) => {
          mark(msg, i);
          await way.send(msg);
          verify(await way.receive(), c.size, i, where);
          if (i >= c.warmup) bytes += 2 * c.size;
        },
    );
  } else {
    const go = new Uint8Array(1);
    if (sync) way.sendSync(go);
    else await way.send(go);
    timer = await timedLoop(
      c,
      sync
        ? (i) => {
          verify(way.receiveSync(), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        }
        : async (i) => {
          verify(await way.receive(), c.size, i, where);
          if (i >= c.warmup) bytes += c.size;
        },
    );
  }
  return result(c, timer, bytes);
}

async function childCase(c: Case, way: Way): Promise<void> {
  const total = c.warmup + c.messages;
  const sync = c.mode === "sync";
  if (c.kind === "rtt") {
    for (let i = 0; i < total; i++) {
      if (sync) way.sendSync(way.receiveSync());
      else await way.send(await way.receive());
    }
    return;
  }
  if (sync) way.receiveSync();
  else await way.receive();
  const buf = new Uint8Array(c.size);
  for (let i = 0; i < total; i++) {
    mark(buf, i);
    if (sync) way.sendSync(buf);
    else await way.send(buf);
  }
}

export const group: Group = {
  start(cases, launch) {
    const base = `/sysipc-bench-${process.pid}`;
    const options = {
      create: true,
      exclusive: true,
      maxMessages: 10,
      messageSize: Math.max(1, ...cases.filter((c) => c.mech === "mq-posix").map((c) => c.size)),
    };
    const ping = MessageQueue.open(`${base}-ping`, options);
    const pong = MessageQueue.open(`${base}-pong`, options);
    const queue = SysVMessageQueue.get("private", { create: true });
    const child = launch([base, String(queue.id)]);
    const ways = { "mq-posix": posixWay(ping, pong), "mq-sysv": sysvWay(queue, 10, 11) };
    return Promise.resolve(session(
      child,
      (c) => parentCase(c, ways[c.mech as keyof typeof ways]),
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
    const ways = { "mq-posix": posixWay(pong, ping), "mq-sysv": sysvWay(queue, 11, 10) };
    for (const c of cases) await childCase(c, ways[c.mech as keyof typeof ways]);
  },
};
