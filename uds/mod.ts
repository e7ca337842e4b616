/**
 * Unix domain sockets: stream, seqpacket and datagram sockets on filesystem paths or Linux
 * abstract names, socket pairs, descriptor passing (`SCM_RIGHTS`), peer credentials
 * (`SO_PEERCRED`, `SCM_CREDENTIALS`), byte streams, Web Streams and whole messages. Every
 * async call waits without blocking the event loop; every socket is close-on-exec, and
 * descriptors that arrive in messages are too.
 *
 * @example A server that hands each client an open pipe
 * ```ts
 * import { pipe, PipeWriter } from "@sysipc/sysipc/pipe";
 * import { connect, listen } from "@sysipc/sysipc/uds";
 * const name = `example-${Math.random()}`;
 * using listener = listen({ abstract: name, type: "seqpacket" });
 * const [reader, writer] = pipe();
 * const serving = listener.accept().then(async (connection) => {
 *   await connection.send("a pipe for you", { fds: [writer] });
 *   writer.close();
 *   connection.close();
 * });
 * using client = await connect({ abstract: name, type: "seqpacket" });
 * const message = (await client.receive())!;
 * using passed = PipeWriter.fromFd(message.fds[0]!);
 * passed.writeSync("written by the client");
 * passed.close();
 * await serving;
 * console.log(await new Response(reader.readable).text()); // "written by the client"
 * ```
 *
 * @module
 */
export { FdHandle } from "../ffi/handle.ts";
export { type SocketType, type UnixAddress } from "./address.ts";
export {
  type Credentials,
  type UnixDatagramMessage,
  type UnixMessage,
  type UnixReceiveOptions,
  type UnixSendOptions,
} from "./io.ts";
export { type ShutdownHow, socketpair, UnixConnection } from "./connection.ts";
export {
  connect,
  connectSync,
  listen,
  type UnixConnectOptions,
  UnixListener,
  type UnixListenOptions,
} from "./listener.ts";
export { UnixDatagram, type UnixDatagramOptions } from "./datagram.ts";
