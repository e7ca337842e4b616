import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { IpcError } from "../ffi/errors.ts";
import { createOptions, ftok, posixName, sysvGetFlags, sysvKey } from "../ffi/ipc.ts";
import { tempDir } from "./helpers.ts";

describe("IPC names, keys and create options", () => {
  it("POSIX names: one leading slash, 1 to 250 characters, nothing that could leave the directory", () => {
    assert.equal(new TextDecoder().decode(posixName("/jobs")), "/jobs\0");
    posixName("/" + "x".repeat(250));
    for (
      const [bad, why] of [
        ["jobs", /must start with a slash/],
        ["/", /at least one character/],
        ["//jobs", /must not contain a slash after the first/],
        ["/a/b", /must not contain a slash/],
        ["/../etc/passwd", /must not contain a slash/],
        ["/..", /must not be \. or \.\./],
        ["/.", /must not be \. or \.\./],
        ["/a\0b", /NUL/],
        ["/" + "x".repeat(251), /251 characters after the slash \(at most 250\)/],
      ] as const
    ) {
      assert.throws(() => posixName(bad), (e) => e instanceof TypeError && why.test(e.message));
    }
    assert.throws(() => posixName(42), /name must be a string like "\/jobs", got number 42/);
  });

  it("System V keys: signed and unsigned spellings are one key; private is 0", () => {
    assert.equal(sysvKey("private"), 0);
    assert.equal(sysvKey(0x51000001), 0x51000001);
    assert.equal(sysvKey(0xdeadbeef), 0xdeadbeef | 0);
    assert.equal(sysvKey(-559038737), 0xdeadbeef | 0);
    assert.throws(() => sysvKey(2 ** 32), RangeError);
    assert.throws(() => sysvKey(-(2 ** 31) - 1), RangeError);
    assert.throws(() => sysvKey(1.5), TypeError);
    assert.throws(() => sysvKey("0x10"), TypeError);
  });

  it("create options: defaults, mode range, exclusive needs create", () => {
    assert.deepEqual(createOptions(undefined), { create: false, exclusive: false, mode: 0o600 });
    const o = createOptions({ create: true, exclusive: true, mode: 0o640 });
    assert.equal(sysvGetFlags(o), 0o1000 | 0o2000 | 0o640);
    assert.throws(() => createOptions({ exclusive: true }), /exclusive needs create/);
    assert.throws(() => createOptions({ mode: 0o1777 }), RangeError);
    // @ts-expect-error: wrong type on purpose
    assert.throws(() => createOptions({ create: "yes" }), /create must be a boolean/);
  });

  it("ftok gives glibc's key for a file and project", () => {
    using dir = tempDir();
    const st = statSync(dir.path, { bigint: true });
    const expected = ((7 & 0xff) << 24 | Number(st.dev & 0xffn) << 16 | Number(st.ino & 0xffffn)) |
      0;
    assert.equal(ftok(dir.path, 7), expected);
    assert.throws(
      () => ftok(dir.path + "/missing", 1),
      (e) => e instanceof IpcError && e.code === "ENOENT",
    );
    assert.throws(() => ftok(dir.path, 0), RangeError);
    assert.throws(() => ftok(dir.path, 256), RangeError);
  });
});
