/**
 * The child side of the message queue ping-pong (bench/mq_pingpong.ts), on either runtime:
 * echoes each message back until an empty one comes, with sysipc's sync calls
 * (`sendSync`/`receiveSync`) or async ones (`send`/`receive`). POSIX: receives from the
 * ping queue and answers on the pong queue; System V: receives type 10 and answers with
 * type 11 on one queue. It measures nothing itself; the parent times the round trips.
 *
 * Usage: mq_peer.ts --kind posix --mode sync|async --ping NAME --pong NAME
 *        mq_peer.ts --kind sysv --mode sync|async --id ID
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MessageQueue, SysVMessageQueue } from "../mq/mod.ts";

const { values } = parseArgs({
  options: {
    kind: { type: "string" },
    mode: { type: "string" },
    ping: { type: "string" },
    pong: { type: "string" },
    id: { type: "string" },
  },
});
const { kind, mode } = values;
if (mode !== "sync" && mode !== "async") throw new TypeError("--mode must be sync or async");

if (kind === "posix") {
  using ping = MessageQueue.open(values.ping ?? "", { readOnly: true });
  using pong = MessageQueue.open(values.pong ?? "", { writeOnly: true });
  if (mode === "sync") {
    for (let m = ping.receiveSync(); m.data.length > 0; m = ping.receiveSync()) {
      pong.sendSync(m.data);
    }
  } else {
    for (let m = await ping.receive(); m.data.length > 0; m = await ping.receive()) {
      await pong.send(m.data);
    }
  }
} else if (kind === "sysv") {
  using queue = SysVMessageQueue.fromId(Number(values.id));
  if (mode === "sync") {
    for (let m = queue.receiveSync({ type: 10 }); m.data.length > 0;) {
      queue.sendSync(11, m.data);
      m = queue.receiveSync({ type: 10 });
    }
  } else {
    for (let m = await queue.receive({ type: 10 }); m.data.length > 0;) {
      await queue.send(11, m.data);
      m = await queue.receive({ type: 10 });
    }
  }
} else {
  throw new TypeError("--kind must be posix or sysv");
}
