// Counts test cases in JUnit reports and prints one line per runtime, then the total as
// `tests: N passed, M failed` (skipped tests are counted apart, never as passed, and each is
// named once, with the runtimes that skipped it: a skipped test's name says why).
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";

let passed = 0, failed = 0, skipped = 0;
/** Skipped test name → the runtimes that skipped it. */
const skippedNames = new Map();
for (const file of process.argv.slice(2)) {
  const runtime = basename(file, ".xml");
  if (!existsSync(file)) {
    console.log(`${runtime}: no report (the runner did not finish)`);
    failed++;
    continue;
  }
  const xml = readFileSync(file, "utf8");
  let p = 0, f = 0, s = 0;
  const cases = [
    ...xml.matchAll(/<testcase\b[^>]*?name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g),
  ]
    .map((m) => ({ name: m[1], body: m[3] ?? "" }));
  // Deno reports each describe() group as a test case too, with its tests named
  // "group > test": count the tests, not the groups.
  const groups = new Set(cases.flatMap((c) => {
    const parts = c.name.split(" &gt; ");
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join(" &gt; "));
  }));
  for (const { name, body } of cases) {
    if (groups.has(name)) continue;
    if (/<(failure|error)\b/.test(body)) f++;
    else if (/<skipped\b/.test(body)) {
      s++;
      const text = name.replaceAll("&gt;", ">").replaceAll("&lt;", "<").replaceAll("&quot;", '"')
        .replaceAll("&amp;", "&");
      skippedNames.set(text, [...(skippedNames.get(text) ?? []), runtime]);
    } else p++;
  }
  console.log(`${runtime}: ${p} passed, ${f} failed${s ? `, ${s} skipped` : ""}`);
  passed += p;
  failed += f;
  skipped += s;
}
for (const [name, runtimes] of skippedNames) {
  console.log(`skipped (${runtimes.join(", ")}): ${name}`);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
