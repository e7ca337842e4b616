#!/usr/bin/env bash
# The whole check: the system packages some tests need (installed where it can), format, lint,
# types (Deno, the Bun shim), doc lint, the README and JSDoc examples (type-checked, then run on
# both runtimes), the packages as dependencies, then the test suite under `deno test` and under
# `bun test`. Ends with `tests: N passed, M failed` (and `, K skipped` when a tool is missing).
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=node_modules/.bin/deno
BUN=node_modules/.bin/bun
status=0
step() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    echo "!! $name failed"
    status=1
  fi
}
echo "== prerequisites"
bash scripts/prerequisites.sh
PUBLIC="mod.ts pipe/mod.ts fifo/mod.ts shm/mod.ts signal/mod.ts uds/mod.ts mq/mod.ts sem/mod.ts port/mod.ts ffi/mod.ts cli.ts"
step "format" $DENO fmt --check
step "lint" $DENO lint
step "types (Deno)" $DENO check $PUBLIC ffi/deno_check.ts tests/ bench/ examples/ scripts/
step "types (Bun shim)" node node_modules/typescript/bin/tsc -p tsconfig.bun.json
step "doc lint" $DENO doc --lint $PUBLIC
step "examples (README, JSDoc and examples/, run on both runtimes)" $DENO run -A scripts/examples.ts
step "packages (bun init and strict Deno consumers, deno publish)" bash scripts/consumers.sh
out=$(mktemp -d)
# --no-check: the types step above checked every file; and deno test would type-check each
# Worker's module again when it starts (≈ 0.7 s per helper thread).
step "tests (deno test)" $DENO test -A --no-check --junit-path="$out/deno.xml" tests/
step "tests (bun test)" $BUN test --timeout 60000 --reporter=junit --reporter-outfile="$out/bun.xml" tests/
# The whole suite again on the polling backend, as where io_uring is blocked.
export SYSIPC_WAIT_ENGINE=poll
step "tests (deno test, poll backend)" $DENO test -A --no-check --junit-path="$out/deno-poll.xml" tests/
step "tests (bun test, poll backend)" $BUN test --timeout 60000 --reporter=junit --reporter-outfile="$out/bun-poll.xml" tests/
unset SYSIPC_WAIT_ENGINE
node scripts/count.mjs "$out/deno.xml" "$out/bun.xml" "$out/deno-poll.xml" "$out/bun-poll.xml" || status=1
rm -rf "$out"
exit $status
