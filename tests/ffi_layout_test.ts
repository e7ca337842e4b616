/**
 * Checks sysipc's hand-written C facts against the real C headers: struct sizes and
 * offsets (`ffi/structs.ts`), constants (`ffi/constants.ts`), errno names
 * (`ffi/errors.ts`) and signal numbers (`signal/names.ts`).
 *
 * At test time it writes a small C program into a temporary directory, compiles it with
 * `gcc`, runs it and parses what it prints. There is no silent skip: without `gcc` every
 * test fails, unless `SYSIPC_NO_CC=1` is set, in which case the facts come from the
 * x86_64 table at the end of this file instead of from a compiler (and `gcc` is not run
 * even if present). When `gcc` is used on x86_64, the table itself is checked too.
 *
 * Runs under both `deno test -A` and `bun test`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { arch, env } from "node:process";
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
  // uds
  SCM_MAX_FD: "the kernel's own limit (include/net/scm.h), which no user-space header defines",
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
  "sys/mman.h",
  "sys/stat.h",
  "sys/syscall.h",
  "sys/uio.h",
  "sys/wait.h",
  "unistd.h",
  "linux/io_uring.h",
  // uds
  "sys/socket.h",
  "sys/un.h",
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
 * Parses the probe's output (also the format of the x86_64 table), one fact a line:
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
    const num = (s: string) => {
      if (!/^-?\d+$/.test(s)) throw new Error(`bad number in ${source}: ${line}`);
      return Number(s);
    };
    if (f[0] === "size" && f.length === 3) facts.sizes.set(f[1], num(f[2]));
    else if (f[0] === "offset" && f.length === 4) facts.offsets.set(`${f[1]}.${f[2]}`, num(f[3]));
    else if (f[0] === "const" && f.length === 3) {
      facts.constants.set(f[1], f[2] === "-" ? null : num(f[2]));
    } else if (f[0] === "errno" && f.length === 4) {
      facts.errnos.push({ name: f[1], value: num(f[2]), aliasOf: f[3] });
    } else if (f[0] === "signal" && f.length === 3) facts.signals.set(f[1], num(f[2]));
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

function gcc(args: string[]): string {
  try {
    return execFileSync("gcc", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === "ENOENT") {
      throw new Error(
        "gcc is not installed, so the C facts cannot be checked against the headers. " +
          "Install gcc, or set SYSIPC_NO_CC=1 to compare against this test's x86_64 table.",
      );
    }
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
    defs.set(m[1], m[2].trim());
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

const USE_TABLE = env.SYSIPC_NO_CC === "1";
let loaded: Facts | Error | undefined;

/** The C facts, from gcc or (with `SYSIPC_NO_CC=1`) the x86_64 table; throws on failure. */
function facts(): Facts {
  loaded ??= (() => {
    try {
      if (USE_TABLE) {
        if (arch !== "x64") {
          throw new Error(
            `SYSIPC_NO_CC=1 but this is ${arch}: the built-in table holds x86_64 values only`,
          );
        }
        return parseFacts(X86_64_TABLE, "x86_64 table in tests/ffi_layout_test.ts");
      }
      return parseFacts(runProbe(), "C probe compiled with gcc");
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  })();
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

describe("struct layouts in ffi/structs.ts match the C headers", () => {
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

describe("constants in ffi/constants.ts match the C headers", () => {
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

describe("errno names in ffi/errors.ts match <errno.h>", () => {
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

describe("signal numbers in signal/names.ts match <signal.h>", () => {
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

// The table must stay true: whenever gcc is used on x86_64, every line of it is checked.
if (!USE_TABLE && arch === "x64") {
  it("the x86_64 table for SYSIPC_NO_CC=1 agrees with the C headers", () => {
    const probe = facts();
    const table = parseFacts(X86_64_TABLE, "x86_64 table");
    const pick = (f: Facts) => ({
      sizes: Object.fromEntries([...table.sizes.keys()].map((k) => [k, f.sizes.get(k)])),
      offsets: Object.fromEntries([...table.offsets.keys()].map((k) => [k, f.offsets.get(k)])),
      constants: Object.fromEntries(
        [...table.constants.keys()].map((k) => [k, f.constants.get(k)]),
      ),
      errnos: Object.fromEntries(
        table.errnos.map((t) => [t.name, f.errnos.find((e) => e.name === t.name)]),
      ),
      signals: Object.fromEntries([...table.signals.keys()].map((k) => [k, f.signals.get(k)])),
    });
    assert.deepEqual(pick(table), pick(probe));
  });
}

/**
 * x86_64 Linux with glibc 2.36 and kernel 6.1 uapi headers, in the probe's output format;
 * used instead of gcc when `SYSIPC_NO_CC=1`. Checked against gcc by the test above.
 */
const X86_64_TABLE = `
size:struct timespec:16
offset:struct timespec:tv_sec:0
offset:struct timespec:tv_nsec:8
size:struct iovec:16
offset:struct iovec:iov_base:0
offset:struct iovec:iov_len:8
size:struct pollfd:8
offset:struct pollfd:fd:0
offset:struct pollfd:events:4
offset:struct pollfd:revents:6
size:struct statx:256
offset:struct statx:stx_mask:0
offset:struct statx:stx_uid:20
offset:struct statx:stx_gid:24
offset:struct statx:stx_mode:28
offset:struct statx:stx_ino:32
offset:struct statx:stx_size:40
size:siginfo_t:128
offset:siginfo_t:si_signo:0
offset:siginfo_t:si_errno:4
offset:siginfo_t:si_code:8
offset:siginfo_t:si_pid:16
offset:siginfo_t:si_uid:20
offset:siginfo_t:si_status:24
size:sigset_t:128
size:posix_spawn_file_actions_t:80
size:posix_spawnattr_t:336
size:struct io_uring_params:120
offset:struct io_uring_params:sq_entries:0
offset:struct io_uring_params:cq_entries:4
offset:struct io_uring_params:flags:8
offset:struct io_uring_params:features:20
offset:struct io_uring_params:sq_off:40
offset:struct io_uring_params:cq_off:80
size:struct io_sqring_offsets:40
offset:struct io_sqring_offsets:head:0
offset:struct io_sqring_offsets:tail:4
offset:struct io_sqring_offsets:ring_mask:8
offset:struct io_sqring_offsets:ring_entries:12
offset:struct io_sqring_offsets:flags:16
offset:struct io_sqring_offsets:dropped:20
offset:struct io_sqring_offsets:array:24
size:struct io_cqring_offsets:40
offset:struct io_cqring_offsets:head:0
offset:struct io_cqring_offsets:tail:4
offset:struct io_cqring_offsets:ring_mask:8
offset:struct io_cqring_offsets:ring_entries:12
offset:struct io_cqring_offsets:overflow:16
offset:struct io_cqring_offsets:cqes:20
size:struct io_uring_sqe:64
offset:struct io_uring_sqe:opcode:0
offset:struct io_uring_sqe:flags:1
offset:struct io_uring_sqe:fd:4
offset:struct io_uring_sqe:off:8
offset:struct io_uring_sqe:addr:16
offset:struct io_uring_sqe:len:24
offset:struct io_uring_sqe:poll32_events:28
offset:struct io_uring_sqe:open_flags:28
offset:struct io_uring_sqe:user_data:32
size:struct io_uring_cqe:16
offset:struct io_uring_cqe:user_data:0
offset:struct io_uring_cqe:res:8
offset:struct io_uring_cqe:flags:12
const:O_RDONLY:0
const:O_WRONLY:1
const:O_RDWR:2
const:O_CREAT:64
const:O_EXCL:128
const:O_NOCTTY:256
const:O_TRUNC:512
const:O_APPEND:1024
const:O_NONBLOCK:2048
const:O_CLOEXEC:524288
const:O_DIRECT:16384
const:AT_FDCWD:-100
const:AT_EMPTY_PATH:4096
const:F_DUPFD_CLOEXEC:1030
const:F_GETFD:1
const:F_SETFD:2
const:F_GETFL:3
const:F_SETFL:4
const:FD_CLOEXEC:1
const:F_SETPIPE_SZ:1031
const:F_GETPIPE_SZ:1032
const:RWF_NOWAIT:8
const:POLLIN:1
const:POLLPRI:2
const:POLLOUT:4
const:POLLERR:8
const:POLLHUP:16
const:POLLNVAL:32
const:S_IFMT:61440
const:S_IFIFO:4096
const:S_IFREG:32768
const:S_IFDIR:16384
const:STATX_TYPE:1
const:STATX_MODE:2
const:AT_STATX_SYNC_AS_STAT:0
const:PROT_READ:1
const:PROT_WRITE:2
const:MAP_SHARED:1
const:MAP_POPULATE:32768
const:P_PIDFD:3
const:WEXITED:4
const:CLD_EXITED:1
const:CLD_KILLED:2
const:CLD_DUMPED:3
const:POSIX_SPAWN_SETSIGDEF:4
const:POSIX_SPAWN_SETSIGMASK:8
const:SYS_io_uring_setup:425
const:SYS_io_uring_enter:426
const:SYS_io_uring_register:427
const:SYS_pidfd_send_signal:424
const:SYS_pidfd_open:434
const:SIGRTMIN:34
const:SIGRTMAX:64
const:PIPE_BUF:4096
size:struct sockaddr_un:110
offset:struct sockaddr_un:sun_family:0
offset:struct sockaddr_un:sun_path:2
size:struct msghdr:56
offset:struct msghdr:msg_name:0
offset:struct msghdr:msg_namelen:8
offset:struct msghdr:msg_iov:16
offset:struct msghdr:msg_iovlen:24
offset:struct msghdr:msg_control:32
offset:struct msghdr:msg_controllen:40
offset:struct msghdr:msg_flags:48
size:struct cmsghdr:16
offset:struct cmsghdr:cmsg_len:0
offset:struct cmsghdr:cmsg_level:8
offset:struct cmsghdr:cmsg_type:12
size:struct ucred:12
offset:struct ucred:pid:0
offset:struct ucred:uid:4
offset:struct ucred:gid:8
size:struct timeval:16
offset:struct timeval:tv_sec:0
offset:struct timeval:tv_usec:8
const:AF_UNIX:1
const:SOCK_STREAM:1
const:SOCK_DGRAM:2
const:SOCK_SEQPACKET:5
const:SOCK_NONBLOCK:2048
const:SOCK_CLOEXEC:524288
const:SOL_SOCKET:1
const:SO_TYPE:3
const:SO_PASSCRED:16
const:SO_PEERCRED:17
const:SO_SNDTIMEO:21
const:SO_DOMAIN:39
const:SCM_RIGHTS:1
const:SCM_CREDENTIALS:2
const:SCM_MAX_FD:-
const:SOMAXCONN:4096
const:MSG_PEEK:2
const:MSG_CTRUNC:8
const:MSG_TRUNC:32
const:MSG_DONTWAIT:64
const:MSG_NOSIGNAL:16384
const:MSG_CMSG_CLOEXEC:1073741824
const:SHUT_RD:0
const:SHUT_WR:1
const:SHUT_RDWR:2
const:POLLRDHUP:8192
const:AT_SYMLINK_NOFOLLOW:256
const:O_PATH:2097152
const:O_NOFOLLOW:131072
errno:EPERM:1:
errno:ENOENT:2:
errno:ESRCH:3:
errno:EINTR:4:
errno:EIO:5:
errno:ENXIO:6:
errno:E2BIG:7:
errno:ENOEXEC:8:
errno:EBADF:9:
errno:ECHILD:10:
errno:EAGAIN:11:
errno:EWOULDBLOCK:11:EAGAIN
errno:ENOMEM:12:
errno:EACCES:13:
errno:EFAULT:14:
errno:ENOTBLK:15:
errno:EBUSY:16:
errno:EEXIST:17:
errno:EXDEV:18:
errno:ENODEV:19:
errno:ENOTDIR:20:
errno:EISDIR:21:
errno:EINVAL:22:
errno:ENFILE:23:
errno:EMFILE:24:
errno:ENOTTY:25:
errno:ETXTBSY:26:
errno:EFBIG:27:
errno:ENOSPC:28:
errno:ESPIPE:29:
errno:EROFS:30:
errno:EMLINK:31:
errno:EPIPE:32:
errno:EDOM:33:
errno:ERANGE:34:
errno:EDEADLK:35:
errno:EDEADLOCK:35:EDEADLK
errno:ENAMETOOLONG:36:
errno:ENOLCK:37:
errno:ENOSYS:38:
errno:ENOTEMPTY:39:
errno:ELOOP:40:
errno:ENOMSG:42:
errno:EIDRM:43:
errno:ECHRNG:44:
errno:EL2NSYNC:45:
errno:EL3HLT:46:
errno:EL3RST:47:
errno:ELNRNG:48:
errno:EUNATCH:49:
errno:ENOCSI:50:
errno:EL2HLT:51:
errno:EBADE:52:
errno:EBADR:53:
errno:EXFULL:54:
errno:ENOANO:55:
errno:EBADRQC:56:
errno:EBADSLT:57:
errno:EBFONT:59:
errno:ENOSTR:60:
errno:ENODATA:61:
errno:ETIME:62:
errno:ENOSR:63:
errno:ENONET:64:
errno:ENOPKG:65:
errno:EREMOTE:66:
errno:ENOLINK:67:
errno:EADV:68:
errno:ESRMNT:69:
errno:ECOMM:70:
errno:EPROTO:71:
errno:EMULTIHOP:72:
errno:EDOTDOT:73:
errno:EBADMSG:74:
errno:EOVERFLOW:75:
errno:ENOTUNIQ:76:
errno:EBADFD:77:
errno:EREMCHG:78:
errno:ELIBACC:79:
errno:ELIBBAD:80:
errno:ELIBSCN:81:
errno:ELIBMAX:82:
errno:ELIBEXEC:83:
errno:EILSEQ:84:
errno:ERESTART:85:
errno:ESTRPIPE:86:
errno:EUSERS:87:
errno:ENOTSOCK:88:
errno:EDESTADDRREQ:89:
errno:EMSGSIZE:90:
errno:EPROTOTYPE:91:
errno:ENOPROTOOPT:92:
errno:EPROTONOSUPPORT:93:
errno:ESOCKTNOSUPPORT:94:
errno:ENOTSUP:95:EOPNOTSUPP
errno:EOPNOTSUPP:95:
errno:EPFNOSUPPORT:96:
errno:EAFNOSUPPORT:97:
errno:EADDRINUSE:98:
errno:EADDRNOTAVAIL:99:
errno:ENETDOWN:100:
errno:ENETUNREACH:101:
errno:ENETRESET:102:
errno:ECONNABORTED:103:
errno:ECONNRESET:104:
errno:ENOBUFS:105:
errno:EISCONN:106:
errno:ENOTCONN:107:
errno:ESHUTDOWN:108:
errno:ETOOMANYREFS:109:
errno:ETIMEDOUT:110:
errno:ECONNREFUSED:111:
errno:EHOSTDOWN:112:
errno:EHOSTUNREACH:113:
errno:EALREADY:114:
errno:EINPROGRESS:115:
errno:ESTALE:116:
errno:EUCLEAN:117:
errno:ENOTNAM:118:
errno:ENAVAIL:119:
errno:EISNAM:120:
errno:EREMOTEIO:121:
errno:EDQUOT:122:
errno:ENOMEDIUM:123:
errno:EMEDIUMTYPE:124:
errno:ECANCELED:125:
errno:ENOKEY:126:
errno:EKEYEXPIRED:127:
errno:EKEYREVOKED:128:
errno:EKEYREJECTED:129:
errno:EOWNERDEAD:130:
errno:ENOTRECOVERABLE:131:
errno:ERFKILL:132:
errno:EHWPOISON:133:
signal:SIGHUP:1
signal:SIGINT:2
signal:SIGQUIT:3
signal:SIGILL:4
signal:SIGTRAP:5
signal:SIGABRT:6
signal:SIGBUS:7
signal:SIGFPE:8
signal:SIGKILL:9
signal:SIGUSR1:10
signal:SIGSEGV:11
signal:SIGUSR2:12
signal:SIGPIPE:13
signal:SIGALRM:14
signal:SIGTERM:15
signal:SIGSTKFLT:16
signal:SIGCHLD:17
signal:SIGCONT:18
signal:SIGSTOP:19
signal:SIGTSTP:20
signal:SIGTTIN:21
signal:SIGTTOU:22
signal:SIGURG:23
signal:SIGXCPU:24
signal:SIGXFSZ:25
signal:SIGVTALRM:26
signal:SIGPROF:27
signal:SIGWINCH:28
signal:SIGIO:29
signal:SIGPWR:30
signal:SIGSYS:31
signal:SIGIOT:6
signal:SIGPOLL:29
signal:SIGCLD:17
`;
