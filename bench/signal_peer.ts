/**
 * The child side of the signal ping-pong (bench/signal_pingpong.ts), on either runtime:
 * listens for `SIGRTMIN`, tells its parent it is ready (value -1), then sends back the
 * value of every signal it receives, `--messages` times (warm-up included), receiving with
 * `receiveSync()` or `await receive()`. It measures nothing itself.
 *
 * Usage: signal_peer.ts --mode sync|async --messages N --parent PID
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SignalReceiver, sigqueue } from "../signal/mod.ts";
import { intOption } from "./_runtime.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "sync" },
    messages: { type: "string" },
    parent: { type: "string" },
  },
});
if (values.messages === undefined || values.parent === undefined) {
  throw new TypeError("--messages and --parent are required");
}
const messages = intOption(values.messages, "messages", 1);
const parent = intOption(values.parent, "parent", 1);

using receiver = SignalReceiver.listen(["SIGRTMIN"]);
sigqueue(parent, "SIGRTMIN", -1);
for (let i = 0; i < messages; i++) {
  const info = values.mode === "sync"
    ? receiver.receiveSync({ timeout: 10_000 })
    : await receiver.receive({ timeout: 10_000 });
  sigqueue(parent, "SIGRTMIN", info.value);
}
