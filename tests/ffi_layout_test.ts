/**
 * Checks sysipc's hand-written C facts against the real C headers: struct sizes and
 * offsets (`ffi/structs.ts`), constants (`ffi/constants.ts`), errno names
 * (`ffi/errors.ts`) and signal numbers (`signal/names.ts`).
 *
 * When loaded it writes a small C program into a temporary directory, compiles it with
 * `gcc`, runs it and parses what it prints. Without `gcc` or the C headers (Debian:
 * `gcc`, `libc6-dev`, `linux-libc-dev`; `npm test` installs them with apt-get when run as
 * root), these checks are reported as one skipped test whose name says what is missing:
 * never as passed, never as one failure per check. Any other failure of the probe fails
 * every check.
 *
 * Runs under both `deno test -A` and `bun test`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { layouts } from "../ffi/structs.ts";
import { C } from "../ffi/constants.ts";
import { errnoName, errnoNumber } from "../ffi/errors.ts";
import { signalName, signalNumber } from "../signal/names.ts";

/**
 * Keys of `C` that have no C macro of the same name on Linux/glibc, each with the reason.
 * The test checks that each really has none, so a stale entry fails. Add a key here only
 * with a reason; a key with no macro that is not listed here fails.
 */
const NO_C_MACRO: Readonly<Record<string, string>> = {
  IORING_OP_FUTEX_WAIT: "added in Linux 6.7; Debian 12's linux-libc-dev has the 6.1 headers",
  FUTEX2_SIZE_U32: "added in Linux 6.7; Debian 12's linux-libc-dev has the 6.1 headers",
  // uds
  SCM_MAX_FD: "the kernel's own limit (include/net/scm.h), which no user-space header defines",
  SEMVMX: "defined only in linux/sem.h, which cannot be included together with sys/sem.h",
  PTHREAD_MUTEX_ROBUST: "an enum constant in pthread.h, not a macro",
};

/**
 * Keys of `C` that glibc declares as enumerators rather than macros, so `#ifdef` cannot
 * see them; the probe prints them unconditionally (a missing one is a compile error).
 */
const ENUMERATORS: Readonly<Record<string, string>> = {
  P_PIDFD: "an idtype_t enumerator in glibc's sys/wait.h; the kernel's macro is in " +
    "linux/wait.h, which cannot be included together with sys/wait.h",
  P_PID: "an idtype_t enumerator in glibc's sys/wait.h",
  IORING_OP_POLL_ADD: "an io_uring_op enumerator",
  IORING_OP_ASYNC_CANCEL: "an io_uring_op enumerator",
  IORING_OP_OPENAT: "an io_uring_op enumerator",
  IORING_OP_WRITE: "an io_uring_op enumerator",
  IORING_REGISTER_FILES: "an io_uring_register_op enumerator",
  IORING_REGISTER_PROBE: "an io_uring_register_op enumerator",
  IORING_UNREGISTER_FILES: "an io_uring_register_op enumerator",
};

/** Headers for the constants; the struct headers come from the layouts themselves. */
const CONSTANT_HEADERS = [
  "errno.h",
  "fcntl.h",
  "limits.h",
  "poll.h",
  "signal.h",
  "spawn.h",
  "sys/ipc.h",
  "sys/sem.h",
  "sys/eventfd.h",
  "semaphore.h",
  "time.h",
  "sys/mman.h",
  "sys/shm.h",
  "sys/stat.h",
  "sys/syscall.h",
  "sys/uio.h",
  "sys/wait.h",
  "unistd.h",
  "linux/io_uring.h",
  "linux/futex.h",
  // uds
  "sys/socket.h",
  "sys/un.h",
  // mq
  "mqueue.h",
  "sys/msg.h",
  "sys/resource.h",
  "time.h",
];

/** The standard Linux signals, SIGHUP (1) to SIGSYS (31), and the aliases sysipc accepts. */
const SIGNALS = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];
const SIGNAL_ALIASES = ["SIGIOT", "SIGPOLL", "SIGCLD"];

/** What the C side says. */
interface Facts {
  /** Where the facts come from, for messages. */
  readonly source: string;
  /** `sizeof`, by C type. */
  readonly sizes: Map<string, number>;
  /** `offsetof`, by `"<type>.<member>"`. */
  readonly offsets: Map<string, number>;
  /** Constants by name; `null` when the headers define no such macro. */
  readonly constants: Map<string, number | null>;
  /** Every errno macro of <errno.h>, with the name it is an alias of, if it is one. */
  readonly errnos: { name: string; value: number; aliasOf: string }[];
  /** Signal numbers by name. */
  readonly signals: Map<string, number>;
}

/**
 * Parses the probe's output, one fact a line:
 * `size:<type>:<n>`, `offset:<type>:<member>:<n>`, `const:<name>:<n or ->`,
 * `errno:<name>:<n>:<canonical name if an alias>`, `signal:<name>:<n>`.
 */
function parseFacts(text: string, source: string): Facts {
  const facts: Facts = {
    source,
    sizes: new Map(),
    offsets: new Map(),
    constants: new Map(),
    errnos: [],
    signals: new Map(),
  };
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l)) {
    const f = line.split(":");
    const [kind, a = "", b = "", c = ""] = f;
    const num = (s: string) => {
      if (!/^-?\d+$/.test(s)) throw new Error(`bad number in ${source}: ${line}`);
      return Number(s);
    };
    if (kind === "size" && f.length === 3) facts.sizes.set(a, num(b));
    else if (kind === "offset" && f.length === 4) facts.offsets.set(`${a}.${b}`, num(c));
    else if (kind === "const" && f.length === 3) {
      facts.constants.set(a, b === "-" ? null : num(b));
    } else if (kind === "errno" && f.length === 4) {
      facts.errnos.push({ name: a, value: num(b), aliasOf: c });
    } else if (kind === "signal" && f.length === 3) facts.signals.set(a, num(b));
    else throw new Error(`bad line in ${source}: ${line}`);
  }
  return facts;
}

/** Throws unless `s` can be pasted into C source (an identifier, or `struct x`). */
function cName(s: string): string {
  if (!/^(struct |union |enum )?[A-Za-z_][A-Za-z0-9_]*$/.test(s)) {
    throw new Error(`not a C name: ${JSON.stringify(s)}`);
  }
  return s;
}

/** A tool or a header that the probe needs is not installed on this machine. */
class MissingTool extends Error {}

function gcc(args: string[]): string {
  try {
    return execFileSync("gcc", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === "ENOENT") throw new MissingTool("gcc is not installed");
    const header = /fatal error: (\S+): No such file or directory/.exec(err.stderr ?? "");
    if (header) throw new MissingTool(`the C header <${header[1]}> is not installed`);
    throw new Error(`gcc ${args.join(" ")} failed:\n${err.stderr ?? e}`);
  }
}

/**
 * The errno macros <errno.h> defines, from the preprocessor's macro dump: each name with
 * the name it is defined as if it is an alias (`EWOULDBLOCK` → `EAGAIN`), else `""`.
 */
function errnoMacros(dir: string): Map<string, string> {
  const src = join(dir, "errno_names.c");
  writeFileSync(src, "#define _GNU_SOURCE\n#include <errno.h>\n");
  const defs = new Map<string, string>();
  for (const m of gcc(["-E", "-dM", src]).matchAll(/^#define (E[A-Z0-9]+) (.+)$/gm)) {
    defs.set(m[1]!, m[2]!.trim());
  }
  const macros = new Map<string, string>();
  for (const [name, def] of defs) {
    if (/^\d+$/.test(def)) macros.set(name, "");
    else if (defs.has(def)) {
      let target = def;
      while (defs.has(defs.get(target)!)) target = defs.get(target)!;
      macros.set(name, target);
    }
  }
  return macros;
}

/** Writes, compiles and runs the C probe; returns what it printed. */
function runProbe(): string {
  const dir = mkdtempSync(join(tmpdir(), "sysipc-ffi-layout-"));
  try {
    const errnos = errnoMacros(dir);
    const headers = [...new Set([...CONSTANT_HEADERS, ...layouts.flatMap((l) => l.headers)])];
    const lines = [
      "#define _GNU_SOURCE",
      "#include <stddef.h>",
      "#include <stdio.h>",
      ...headers.map((h) => `#include <${h}>`),
      "int main(void) {",
    ];
    const str = (s: string) => JSON.stringify(s);
    for (const l of layouts) {
      const type = cName(l.type);
      lines.push(`  printf("size:%s:%zu\\n", ${str(type)}, sizeof(${type}));`);
      for (const member of Object.keys(l.offsets)) {
        cName(member);
        lines.push(
          `  printf("offset:%s:%s:%zu\\n", ${str(type)}, ${str(member)}, ` +
            `offsetof(${type}, ${member}));`,
        );
      }
    }
    for (const key of Object.keys(C)) {
      cName(key);
      const print = `  printf("const:%s:%lld\\n", ${str(key)}, (long long)(${key}));`;
      if (key in ENUMERATORS) lines.push(print);
      else lines.push(`#ifdef ${key}`, print, "#else", `  printf("const:${key}:-\\n");`, "#endif");
    }
    for (const [name, aliasOf] of errnos) {
      lines.push(`  printf("errno:%s:%d:%s\\n", ${str(name)}, ${name}, ${str(aliasOf)});`);
    }
    for (const name of [...SIGNALS, ...SIGNAL_ALIASES]) {
      lines.push(`  printf("signal:%s:%d\\n", ${str(name)}, ${cName(name)});`);
    }
    lines.push("  return 0;", "}", "");
    const src = join(dir, "probe.c");
    const exe = join(dir, "probe");
    writeFileSync(src, lines.join("\n"));
    gcc(["-std=gnu11", "-O0", "-o", exe, src]);
    return execFileSync(exe, { encoding: "utf8" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Probed when the file loads: whether a tool is missing decides which tests exist.
const loaded: Facts | Error = (() => {
  try {
    return parseFacts(runProbe(), "C probe compiled with gcc");
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
})();

/** The C facts; throws why the probe failed. */
function facts(): Facts {
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** `describe` when the probe could run; otherwise one skipped test stands for them all. */
const describeC = loaded instanceof MissingTool ? () => {} : describe;
if (loaded instanceof MissingTool) {
  it(
    "C facts (struct layouts, constants, errno names, signal numbers) match the headers: " +
      `skipped, ${loaded.message} (install gcc, libc6-dev and linux-libc-dev; npm test ` +
      "does so with apt-get when run as root)",
    { skip: loaded.message },
    () => {},
  );
}

describeC("struct layouts in ffi/structs.ts match the C headers", () => {
  for (const l of layouts) {
    it(l.type, () => {
      const f = facts();
      const actual: Record<string, number> = { sizeof: l.size };
      const expected: Record<string, number | undefined> = { sizeof: f.sizes.get(l.type) };
      for (const [member, offset] of Object.entries(l.offsets)) {
        actual[`offsetof ${member}`] = offset;
        expected[`offsetof ${member}`] = f.offsets.get(`${l.type}.${member}`);
      }
      for (const [k, v] of Object.entries(expected)) {
        if (v === undefined) assert.fail(`${l.type}: ${k} is missing from the ${f.source}`);
      }
      assert.deepEqual(actual, expected, `${l.type} (sysipc vs. C)`);
    });
  }
});

describeC("constants in ffi/constants.ts match the C headers", () => {
  for (const [key, value] of Object.entries(C) as [string, number][]) {
    if (key in NO_C_MACRO) {
      it(`${key} has no C macro (${NO_C_MACRO[key]})`, () => {
        const f = facts();
        assert.ok(f.constants.has(key), `${key} is missing from the ${f.source}`);
        assert.equal(
          f.constants.get(key),
          null,
          `${key} is allow-listed in NO_C_MACRO but C defines it; remove it from the list`,
        );
      });
      continue;
    }
    it(key, () => {
      const f = facts();
      assert.ok(f.constants.has(key), `${key} is missing from the ${f.source}`);
      const c = f.constants.get(key);
      if (c === null) {
        assert.fail(
          `${key} has no C macro of that name; fix the name, or add it to NO_C_MACRO with ` +
            "the reason",
        );
      }
      assert.equal(value, c, `C.${key} is ${value} in sysipc but ${c} in C`);
    });
  }
});

describeC("errno names in ffi/errors.ts match <errno.h>", () => {
  /** The canonical name of each errno value (the macros defined as numbers). */
  function canonical(f: Facts): Map<number, string> {
    assert.ok(f.errnos.length >= 130, `only ${f.errnos.length} errno macros in the ${f.source}`);
    const names = new Map<number, string>();
    for (const e of f.errnos.filter((e) => !e.aliasOf)) {
      assert.ok(!names.has(e.value), `${e.value} is both ${names.get(e.value)} and ${e.name}`);
      names.set(e.value, e.name);
    }
    return names;
  }

  it("errnoName(n) is the C name of n for every n up to the largest errno, E<n> if none", () => {
    const names = canonical(facts());
    const max = Math.max(...names.keys());
    assert.ok(max >= 133, `largest errno is ${max}`);
    const actual: Record<number, string> = {};
    const expected: Record<number, string> = {};
    for (let n = 1; n <= max + 5; n++) {
      actual[n] = errnoName(n);
      expected[n] = names.get(n) ?? `E${n}`;
    }
    assert.deepEqual(actual, expected);
  });

  it("aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) have the value of their canonical name", () => {
    const f = facts();
    const names = canonical(f);
    const aliases = f.errnos.filter((e) => e.aliasOf);
    assert.ok(aliases.some((e) => e.name === "EWOULDBLOCK"), "EWOULDBLOCK not seen as an alias");
    for (const e of aliases) {
      assert.equal(names.get(e.value), e.aliasOf, `${e.name} = ${e.value} in C`);
      assert.equal(errnoName(e.value), e.aliasOf, `errnoName(${e.value}) (${e.name})`);
      assert.equal(errnoNumber(e.name), e.value, `errnoNumber(${e.name})`);
    }
  });

  it("errnoNumber(name) is the C value for every canonical errno name", () => {
    const f = facts();
    const actual: Record<string, number | string> = {};
    const expected: Record<string, number> = {};
    for (const e of f.errnos.filter((e) => !e.aliasOf)) {
      try {
        actual[e.name] = errnoNumber(e.name);
      } catch (err) {
        actual[e.name] = String(err);
      }
      expected[e.name] = e.value;
    }
    assert.deepEqual(actual, expected);
  });
});

describeC("signal numbers in signal/names.ts match <signal.h>", () => {
  it("signalNumber of SIGHUP..SIGSYS and the aliases", () => {
    const f = facts();
    const actual: Record<string, number | string> = {};
    const expected: Record<string, number | undefined> = {};
    for (const name of [...SIGNALS, ...SIGNAL_ALIASES]) {
      try {
        actual[name] = signalNumber(name);
      } catch (err) {
        actual[name] = String(err);
      }
      expected[name] = f.signals.get(name);
    }
    assert.deepEqual(actual, expected);
  });

  it("signalName of the C numbers of SIGHUP..SIGSYS", () => {
    const f = facts();
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const name of SIGNALS) {
      const n = f.signals.get(name);
      assert.ok(n !== undefined, `${name} is missing from the ${f.source}`);
      try {
        actual[n] = signalName(n);
      } catch (err) {
        actual[n] = String(err);
      }
      expected[n] = name;
    }
    assert.deepEqual(actual, expected);
  });

  it("SIGRTMIN and SIGRTMAX are glibc's run-time values", () => {
    const f = facts();
    assert.equal(signalNumber("SIGRTMIN"), f.constants.get("SIGRTMIN"));
    assert.equal(signalNumber("SIGRTMAX"), f.constants.get("SIGRTMAX"));
    assert.equal(signalName(signalNumber("SIGRTMIN")), "SIGRTMIN");
  });
});
