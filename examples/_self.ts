/**
 * A helper of the examples: the command line that runs an example file again, in a second
 * process, on the runtime running this one (`deno run -A FILE …` or `bun FILE …`), so that
 * every example starts with one command and works on either runtime.
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { platform } from "../mod.ts";

/**
 * The command and arguments that run `moduleUrl` with `args` on this runtime.
 *
 * @param moduleUrl The example's `import.meta.url`.
 * @param args Its arguments, such as `["client"]`.
 * @returns The program (this runtime's binary) and its arguments.
 */
export function self(moduleUrl: string, ...args: string[]): [string, string[]] {
  const file = fileURLToPath(moduleUrl);
  return platform.runtime === "deno"
    ? [process.execPath, ["run", "-A", file, ...args]]
    : [process.execPath, [file, ...args]];
}
