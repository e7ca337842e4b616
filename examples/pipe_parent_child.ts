/**
 * Parent and child over anonymous pipes: the parent makes two pipes, starts a child with the
 * read end of the first at fd 3 and the write end of the second as its standard output, and
 * sends it lines; the child answers each line. Closing a write end is how each side says
 * "no more": the reader then gets end of stream (`null`).
 *
 * Run: `deno run -A examples/pipe_parent_child.ts` or `bun examples/pipe_parent_child.ts`
 *
 * Output:
 * ```text
 * parent: started child …, which reads fd 3
 * child: got "apple", 5 letters
 * child: got "banana", 6 letters
 * child: got "cherry", 6 letters
 * child: end of stream, 3 lines
 * parent: child exited with code 0
 * ```
 *
 * @module
 */
import process from "node:process";
import { pipe, PipeReader, PipeWriter, spawn } from "../pipe/mod.ts";
import { self } from "./_self.ts";

/** Reads lines from a pipe until end of stream. */
async function* lines(reader: PipeReader): AsyncGenerator<string> {
  const buf = new Uint8Array(4096);
  let pending = "";
  for (let n; (n = await reader.read(buf)) !== null;) {
    pending += new TextDecoder().decode(buf.subarray(0, n));
    const parts = pending.split("\n");
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending !== "") yield pending;
}

if (process.argv[2] === "child") {
  // fd 3 is the parent's pipe; fd 1 (standard output) goes back to the parent.
  using requests = PipeReader.fromFd(3);
  using replies = PipeWriter.fromFd(1, { own: false });
  let count = 0;
  for await (const line of lines(requests)) {
    count++;
    await replies.write(`child: got "${line}", ${line.length} letters\n`);
  }
  await replies.write(`child: end of stream, ${count} lines\n`);
} else {
  const [toChildReader, toChild] = pipe();
  const [fromChild, fromChildWriter] = pipe();
  const [command, args] = self(import.meta.url, "child");
  const child = spawn(command, args, { fds: { 3: toChildReader }, stdout: fromChildWriter });
  // The child has its own copies now: close ours, or end of stream would never come.
  toChildReader.close();
  fromChildWriter.close();
  console.log(`parent: started child ${child.pid}, which reads fd 3`);
  for (const fruit of ["apple", "banana", "cherry"]) await toChild.write(`${fruit}\n`);
  toChild.close(); // the child's read returns null: end of stream
  for await (const line of lines(fromChild)) console.log(line);
  fromChild.close();
  console.log(`parent: child exited with code ${(await child.status).code}`);
}
