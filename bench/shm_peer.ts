/**
 * The child side of bench/shm_pingpong.ts, on either runtime: echoes `<count>` 64-byte
 * messages from `<base>-ping` to `<base>-pong` (`sync`: `receiveIntoSync` + `sendSync`;
 * `async`: `await receiveInto` + `await send`), or streams `<count>` 64 KiB messages on
 * `<base>-ping` with `sendSync` (`stream`; each carries its number in its first word and
 * in its last byte). It measures nothing itself.
 *
 * Usage: shm_peer.ts sync|async|stream <base> <count>
 *
 * @module
 */
import process from "node:process";
import { ShmChannel } from "../shm/mod.ts";
import { MESSAGE_SIZE, STREAM_SIZE } from "./_runtime.ts";

const [mode, base, countText] = process.argv.slice(2);
const count = Number(countText);
const ping = ShmChannel.open(`${base}-ping`);
const pong = ShmChannel.open(`${base}-pong`);
if (mode === "stream") {
  const message = new Uint8Array(STREAM_SIZE).fill(0x5a);
  const view = new DataView(message.buffer);
  for (let i = 0; i < count; i++) {
    view.setInt32(0, i, true);
    message[STREAM_SIZE - 1] = i & 255;
    ping.sendSync(message, { timeout: 60_000 });
  }
} else {
  const message = new Uint8Array(MESSAGE_SIZE);
  for (let i = 0; i < count; i++) {
    if (mode === "sync") {
      ping.receiveIntoSync(message);
      pong.sendSync(message);
    } else {
      await ping.receiveInto(message);
      await pong.send(message);
    }
  }
}
ping.close();
pong.close();
