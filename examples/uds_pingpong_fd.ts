/**
 * A Unix socket ping/pong server that passes a descriptor. The server listens on a socket
 * file (seqpacket: whole messages, in order); the client connects, sends "ping" three
 * times and gets "pong" back each time, then "end". With its first pong the server also
 * sends the write end of a pipe (`SCM_RIGHTS`): the client writes into it, and the server
 * reads what the client wrote from the pipe's other end. The server knows who connected
 * from the socket itself (`peerCredentials()`: pid, uid, gid).
 *
 * Run: `deno run -A examples/uds_pingpong_fd.ts` or `bun examples/uds_pingpong_fd.ts`
 *
 * Output:
 * ```text
 * server: listening on …/server.sock
 * server: client … (uid …) connected
 * client: received "pong 1" and descriptor …
 * client: received "pong 2"
 * client: received "pong 3"
 * server: "end" after 3 pings
 * server: read from the passed pipe: "hello through the descriptor the server passed"
 * ```
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pipe, PipeWriter, spawn } from "../pipe/mod.ts";
import { connect, listen } from "../uds/mod.ts";
import { self } from "./_self.ts";

const text = (data: Uint8Array) => new TextDecoder().decode(data);

if (process.argv[2] === "client") {
  using connection = await connect({ path: process.argv[3]!, type: "seqpacket", timeout: 10_000 });
  for (let i = 1; i <= 3; i++) {
    await connection.send("ping");
    const reply = await connection.receive({ maxFds: 1, timeout: 10_000 });
    if (reply === null) throw new Error("the server hung up");
    const [fd] = reply.fds;
    if (fd === undefined) {
      console.log(`client: received "${text(reply.data)}"`);
      continue;
    }
    console.log(`client: received "${text(reply.data)}" and descriptor ${fd}`);
    using log = PipeWriter.fromFd(fd); // a working handle on the server's pipe
    await log.write("hello through the descriptor the server passed");
  }
  await connection.send("end");
} else {
  const dir = mkdtempSync(join(tmpdir(), "uds-example-"));
  try {
    const path = join(dir, "server.sock");
    using listener = listen({ path, type: "seqpacket" }); // mode 0600; removed on close
    console.log(`server: listening on ${path}`);
    const [command, args] = self(import.meta.url, "client", path);
    const client = spawn(command, args);
    using connection = await listener.accept({ timeout: 10_000 });
    const peer = connection.peerCredentials();
    console.log(`server: client ${peer.pid} (uid ${peer.uid}) connected`);
    const [logReader, logWriter] = pipe();
    let pings = 0;
    while (true) {
      const message = await connection.receive({ timeout: 10_000 });
      if (message === null || text(message.data) === "end") break;
      pings++;
      // The first pong carries the pipe's write end; the client gets its own copy.
      await connection.send(`pong ${pings}`, pings === 1 ? { fds: [logWriter] } : {});
      if (pings === 1) logWriter.close();
    }
    console.log(`server: "end" after ${pings} pings`);
    await client.status; // the client has closed its copy: the pipe reads to its end
    const logged = await new Response(logReader.readable).text();
    logReader.close();
    console.log(`server: read from the passed pipe: "${logged}"`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
