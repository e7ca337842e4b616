/**
 * The signal ping-pong inside one process group: a server and a client that do not know
 * each other's pid signal the whole group with `kill(0, …)`. The client sends SIGUSR2 (a
 * ping) and waits for SIGUSR1; the server answers each SIGUSR2 with SIGUSR1 (a pong);
 * SIGQUIT ends the server. Every process of the group, the sender included, gets every
 * signal, so each side starts with SIGUSR1, SIGUSR2 and SIGQUIT ignored (`trap ''` in sh,
 * as in the classic shell runner) and listens only to its own: a signal nobody listens to
 * is dropped instead of ending the process. The first command starts the server in a new
 * session and process group, so that `kill(0, …)` reaches the two sides and nothing else;
 * the server starts the client once it listens. Each `SignalInfo` says who sent the signal.
 *
 * Receiving signals needs x86_64 (`platform.signalReceiver`): elsewhere the example says
 * so and exits.
 *
 * Run: `deno run -A examples/signal_pingpong.ts` or `bun examples/signal_pingpong.ts`
 *
 * Output:
 * ```text
 * server: listening in process group …
 * server: ping (SIGUSR2 from client …)
 * client: pong (SIGUSR1 from server …)
 * server: ping (SIGUSR2 from client …)
 * client: pong (SIGUSR1 from server …)
 * server: ping (SIGUSR2 from client …)
 * client: pong (SIGUSR1 from server …)
 * server: SIGQUIT from client …: done
 * ```
 *
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import process from "node:process";
import { platform } from "../mod.ts";
import { spawn } from "../pipe/mod.ts";
import { getpgid, kill, SignalReceiver } from "../signal/mod.ts";
import { self } from "./_self.ts";

/** Runs an example role through sh with the three signals ignored, as `exec` keeps them. */
function ignoringSignals(role: string): [string, string[]] {
  const [command, args] = self(import.meta.url, role);
  return ["sh", ["-c", `trap '' USR1 USR2 QUIT; exec "$0" "$@"`, command, ...args]];
}

const role = process.argv[2];
if (!platform.signalReceiver) {
  console.log(`receiving signals needs x86_64; this is ${process.arch}: nothing to show`);
} else if (role === "server") {
  using receiver = SignalReceiver.listen(["SIGUSR2", "SIGQUIT"]);
  console.log(`server: listening in process group ${getpgid(0)}`);
  const [command, args] = ignoringSignals("client");
  const client = spawn(command, args); // same process group as the server
  for await (const info of receiver) {
    if (info.signal === "SIGQUIT") {
      console.log(`server: SIGQUIT from client ${info.pid}: done`);
      break;
    }
    console.log(`server: ping (SIGUSR2 from client ${info.pid})`);
    kill(0, "SIGUSR1", { group: true }); // to the whole group: the client listens for it
  }
  await client.status;
} else if (role === "client") {
  using receiver = SignalReceiver.listen(["SIGUSR1"]);
  for (let i = 0; i < 3; i++) {
    kill(0, "SIGUSR2", { group: true }); // the server (and this process, which ignores it)
    const pong = await receiver.receive({ timeout: 10_000 });
    console.log(`client: pong (SIGUSR1 from server ${pong.pid})`);
  }
  kill(0, "SIGQUIT", { group: true });
} else {
  // A new session and process group (setsid), so that kill(0, …) stays among the two.
  const [command, args] = ignoringSignals("server");
  const server = nodeSpawn(command, args, { detached: true, stdio: "inherit" });
  const code = await new Promise((resolve) =>
    server.on("exit", (code, signal) => resolve(code ?? signal))
  );
  if (code !== 0) process.exitCode = 1;
}
