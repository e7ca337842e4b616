/**
 * Runs every TypeScript example of README.md and of the library's JSDoc, the way a user would
 * paste it: each ```ts block becomes a file in a temporary directory, with its
 * `@sysipc/sysipc…` and `sysipc…` imports pointed at this checkout. All of them are
 * type-checked together with this repository's compiler options, then each runs under
 * `deno run -A` and under `bun`, and must exit with code 0 within the timeout. A block fenced
 * ```ts ignore is only type-checked: use it only where running makes no sense, and say why
 * next to it.
 *
 * Then runs every program in examples/ (except the helpers, named `_*.ts`, and `*_peer.ts`,
 * which the programs start themselves) as a user would, from the repository's root, under
 * both runtimes: each must exit with code 0 and print every line of the "Output:" block of
 * its module documentation (in any order, since its processes print concurrently; `…`
 * stands for what changes from run to run, such as pids and times, and a run of spaces for
 * one or more).
 *
 * Every example must also clean up after itself: as root (with util-linux `unshare`), the
 * script runs in private IPC and mount namespaces, with a fresh /dev/shm and a POSIX
 * message-queue filesystem of its own, so that any System V object, shared-memory or
 * semaphore name or message queue still there after an example ends is that example's
 * leak, and fails it. Where namespaces cannot be made, that check is skipped, and the script
 * says so.
 *
 * Usage: deno run -A scripts/examples.ts [--timeout 20000] [--programs-only]
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const RUNTIMES = {
  deno: (file: string) => [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--quiet", file],
  bun: (file: string) => [join(ROOT, "node_modules/.bin/bun"), file],
};
/** The library's directories, whose JSDoc examples are run with README.md's. */

const { values } = parseArgs({
  options: {
    timeout: { type: "string", default: "20000" },
    "programs-only": { type: "boolean" },
  },
});
const timeoutMs = Number(values.timeout);

/** Where the private namespace mounts its message-queue filesystem (inside its /dev/shm). */
const MQUEUE = "/dev/shm/.mqueue";
const isolated = process.env.SYSIPC_EXAMPLES_NAMESPACE === "1";
if (
  !isolated && process.getuid?.() === 0 &&
  spawnSync("unshare", ["--ipc", "--mount", "true"]).status === 0
) {
  // Run again in private IPC and mount namespaces (see the module doc).
  const setup = `set -e; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; mkdir ${MQUEUE}; ` +
    `mount -t mqueue mqueue ${MQUEUE}; exec "$@"`;
  const self = [
    join(ROOT, "node_modules/.bin/deno"),
    "run",
    "-A",
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ];
  const r = spawnSync("unshare", ["--ipc", "--mount", "sh", "-c", setup, "sh", ...self], {
    stdio: "inherit",
    env: { ...process.env, SYSIPC_EXAMPLES_NAMESPACE: "1" },
  });
  process.exit(r.status ?? 1);
}

/** The IPC objects that exist now (all of them are the examples', in the namespace). */
function ipcObjects(): Set<string> {
  const found = new Set<string>();
  for (const kind of ["shm", "msg", "sem"]) {
    const lines = readFileSync(`/proc/sysvipc/${kind}`, "utf8").trim().split("\n").slice(1);
    for (const line of lines) found.add(`System V ${kind} id ${line.trim().split(/\s+/)[1]}`);
  }
  for (const name of readdirSync("/dev/shm")) {
    if (`/dev/shm/${name}` !== MQUEUE) found.add(`/dev/shm/${name}`);
  }
  for (const name of readdirSync(MQUEUE)) found.add(`${MQUEUE}/${name}`);
  return found;
}

/** Removes what an example left behind, so that the next one starts clean. */
function removeObjects(objects: string[]): void {
  for (const object of objects) {
    const sysv = /^System V (shm|msg|sem) id (\d+)$/.exec(object);
    if (sysv) spawnSync("ipcrm", [{ shm: "-m", msg: "-q", sem: "-s" }[sysv[1]!]!, sysv[2]!]);
    else rmSync(object, { recursive: true, force: true });
  }
}

/**
 * Runs `body`, then fails with what it left behind (in the namespace), and removes that.
 *
 * @returns "" or why the example failed the check.
 */
async function leakChecked(body: () => Promise<void>): Promise<string> {
  if (!isolated) return await body(), "";
  const before = ipcObjects();
  await body();
  const left = [...ipcObjects()].filter((o) => !before.has(o));
  removeObjects(left);
  return left.length === 0 ? "" : `left behind ${left.join(", ")}`;
}

/** One example: where it is, its code, and whether it is only type-checked. */
interface Example {
  /** `README.md:42`: the file and the line of the opening fence. */
  where: string;
  code: string;
  ignore: boolean;
}

/**
 * The ```ts blocks of a Markdown file, or of the JSDoc comments of a TypeScript file
 * (where each line starts with `*`).
 */
function examplesOf(path: string): Example[] {
  const jsdoc = path.endsWith(".ts");
  const found: Example[] = [];
  let open: Example | undefined;
  readFileSync(join(ROOT, path), "utf8").split("\n").forEach((raw, i) => {
    let line = raw;
    if (jsdoc) {
      const m = /^\s*\* ?(.*)$/.exec(raw);
      if (!m) return;
      line = m[1]!;
    }
    const fence = /^```\s*(\S*)\s*(.*)$/.exec(line.trimEnd());
    if (open && fence) {
      found.push(open);
      open = undefined;
    } else if (fence) {
      if (fence[1] === "ts" || fence[1] === "typescript") {
        open = { where: `${path}:${i + 1}`, code: "", ignore: /\bignore\b/.test(fence[2]!) };
      } else {
        // A block in another language: skip to its end.
        open = { where: "", code: "", ignore: true };
      }
    } else if (open) {
      open.code += line + "\n";
    }
  });
  return found.filter((e) => e.where !== "");
}

/** The package's exports (`"."`, `"./pipe"`, …), as file URLs in this checkout. */
const exportsMap: Record<string, string> = JSON.parse(
  readFileSync(join(ROOT, "deno.json"), "utf8"),
).exports;

/** Points the example's imports of sysipc at this checkout. */
function localImports(example: Example): string {
  return example.code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(@sysipc\/sysipc|sysipc)(\/[\w-]+)?\2/g,
    (all, lead: string, quote: string, _name: string, sub: string | undefined) => {
      const target = exportsMap[`.${sub ?? ""}`];
      if (target === undefined) throw new Error(`${example.where}: no export for ${all}`);
      return `${lead}${quote}${pathToFileURL(join(ROOT, target)).href}${quote}`;
    },
  );
}

interface Outcome {
  ok: boolean;
  seconds: number;
  why: string;
  output: string;
}

/** Runs one command with the timeout; kills its whole process group when time is up. */
function run(argv: string[], cwd: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout.on("data", (d) => output += d);
    child.stderr.on("data", (d) => output += d);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    const done = (why: string) => {
      clearTimeout(timer);
      resolve({ ok: why === "", seconds: (performance.now() - started) / 1000, why, output });
    };
    child.on("error", (e) => done(`could not start: ${e.message}`));
    child.on("close", (code, signal) => {
      if (timedOut) done(`did not finish within ${timeoutMs / 1000} s`);
      else if (code !== 0) done(signal ? `killed by ${signal}` : `exit code ${code}`);
      else done("");
    });
  });
}

/** The library's folders: those deno.json exports a module from. */
const LIBRARY_DIRS = [
  ...new Set(
    Object.values(exportsMap).map((p) => p.slice(2).split("/").slice(0, -1).join("/")).filter(
      Boolean,
    ),
  ),
];

const sources = [
  "README.md",
  "mod.ts",
  "cli.ts",
  ...LIBRARY_DIRS.flatMap((d) =>
    (readdirSync(join(ROOT, d), { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${d}/${f}`)
  ).sort(),
];
const examples = values["programs-only"] ? [] : sources.flatMap(examplesOf);
const dir = mkdtempSync(join(tmpdir(), "sysipc-examples-"));
let failed = 0;
try {
  const files = examples.map((e) => {
    const file = join(dir, `${e.where.replace(/[/:]/g, "_")}.ts`);
    writeFileSync(file, `// ${e.where}\n${localImports(e)}`);
    return file;
  });

  // Type-check every example at once, with this repository's compiler options.
  const check = files.length === 0 ? { ok: true, output: "", why: "", seconds: 0 } : await run(
    [join(ROOT, "node_modules/.bin/deno"), "check", "--quiet", "--config", "deno.json", ...files],
    ROOT,
  );
  if (!check.ok) {
    console.log(check.output.trimEnd());
    console.log(`FAIL type check of the examples: ${check.why}`);
    failed++;
  }

  for (const [i, example] of examples.entries()) {
    if (example.ignore) {
      console.log(`type-checked only  ${example.where}`);
      continue;
    }
    const times: string[] = [];
    for (const [runtime, argv] of Object.entries(RUNTIMES)) {
      let r!: Outcome;
      const leak = await leakChecked(async () => void (r = await run(argv(files[i]!), dir)));
      if (r.ok && leak !== "") Object.assign(r, { ok: false, why: leak });
      if (r.ok) {
        times.push(`${runtime} ${r.seconds.toFixed(1)} s`);
        continue;
      }
      failed++;
      console.log(`FAIL ${example.where} on ${runtime}: ${r.why}`);
      console.log(r.output.trimEnd().split("\n").slice(-20).map((l) => `  | ${l}`).join("\n"));
    }
    if (times.length === 2) console.log(`ok  ${example.where} (${times.join(", ")})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
/** The lines an example program says it prints: its module doc's "Output:" block. */
function expectedOutput(file: string): RegExp[] | undefined {
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(readFileSync(join(ROOT, file), "utf8"))?.[1] ?? "";
  const block = /Output[^\n]*:\s*\n\s*\* ```text\n([\s\S]*?)\n\s*\* ```/.exec(doc)?.[1];
  if (block === undefined) return undefined;
  return block.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).map((line) =>
    new RegExp(
      "^" +
        line.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
          .replace(/ +/g, " +") +
        "$",
    )
  );
}

const programs = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_") && !f.endsWith("_peer.ts"))
  .sort().map((f) => `examples/${f}`);
for (const program of programs) {
  const expected = expectedOutput(program);
  if (expected === undefined) {
    failed++;
    console.log(`FAIL ${program}: its module documentation has no "Output:" block`);
    continue;
  }
  const times: string[] = [];
  for (const [runtime, argv] of Object.entries(RUNTIMES)) {
    let r!: Outcome;
    const leak = await leakChecked(async () =>
      void (r = await run(argv(join(ROOT, program)), ROOT))
    );
    if (r.ok && leak !== "") Object.assign(r, { ok: false, why: leak });
    const lines = r.output.split("\n");
    const used = new Set<number>();
    const missing = expected.filter((re) => {
      const i = lines.findIndex((line, i) => !used.has(i) && re.test(line));
      if (i === -1) return true;
      used.add(i);
      return false;
    });
    if (r.ok && missing.length === 0) {
      times.push(`${runtime} ${r.seconds.toFixed(1)} s`);
      continue;
    }
    failed++;
    const why = r.ok ? `did not print ${missing.map((re) => re.source).join(", ")}` : r.why;
    console.log(`FAIL ${program} on ${runtime}: ${why}`);
    console.log(r.output.trimEnd().split("\n").slice(-20).map((l) => `  | ${l}`).join("\n"));
  }
  if (times.length === 2) console.log(`ok  ${program} (${times.join(", ")})`);
}

const ran = examples.filter((e) => !e.ignore).length;
console.log(
  `examples: ${ran} run on deno and bun, ${examples.length - ran} type-checked only, ` +
    `${programs.length} programs of examples/ run on both, ${failed} failure(s)` +
    (isolated
      ? "; IPC objects left behind were checked"
      : "; leaks not checked (needs root and unshare)"),
);
process.exit(failed ? 1 : 0);
