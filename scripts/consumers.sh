#!/usr/bin/env bash
# sysipc as a dependency, the way new users get it. Packs the npm package into a temp dir, then:
# 1. a fresh `bun init` project installs the tarball and imports every export; `tsc --noEmit`
#    checks it under bun init's own tsconfig (strict, noUncheckedIndexedAccess,
#    verbatimModuleSyntax, …), which covers sysipc's .ts files too; then Bun runs it, and
#    `bunx sysipc` runs the package's command;
# 2. a Deno project with strict and noUncheckedIndexedAccess imports every export through an
#    import map pointing at the unpacked tarball; `deno check`, then `deno run`;
# 3. `deno publish --dry-run` (the JSR package) lists library files only and warns about
#    nothing but the known `bun:ffi` import (see README, Install).
# Offline: TypeScript and bun-types come from this repo's node_modules. The temp dir (with the
# tarball) is removed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DENO=$ROOT/node_modules/.bin/deno
BUN=$ROOT/node_modules/.bin/bun
TSC="$ROOT/node_modules/typescript/bin/tsc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# Runs a command quietly; prints its output only when it fails.
quiet() {
  if ! "$@" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    echo "failed: $*"
    return 1
  fi
}

quiet npm pack --loglevel=error --pack-destination "$tmp" || exit 1
tgz=$(echo "$tmp"/sysipc-*.tgz)
mkdir "$tmp/package" && tar -xzf "$tgz" -C "$tmp/package" --strip-components=1 || exit 1

# One file that imports every export of package.json, as `<prefix>` or `<prefix>/sub`.
consumer() {
  node -e '
    const [manifest, prefix, runtime] = process.argv.slice(1);
    const { exports } = JSON.parse(require("fs").readFileSync(manifest, "utf8"));
    const names = Object.keys(exports).map((k) => prefix + k.slice(1));
    names.forEach((n, i) => console.log(`import * as m${i} from "${n}";`));
    const count = names.map((_, i) => `Object.keys(m${i}).length`).join(" + ");
    console.log(`console.log(\`${runtime}: sysipc loads, \${${count}} exports\`);`);
  ' "$ROOT/package.json" "$@"
}

echo "-- bun init project, sysipc from the npm tarball"
mkdir -p "$tmp/bun-app" "$tmp/types-bun"
# bun init's tsconfig names the "bun" types (package @types/bun, which only points at
# bun-types): a stand-in points at this repo's bun-types, so nothing is downloaded. bun init
# also adds a peer dependency on typescript; marked optional, it is not installed (tsc comes
# from this repo).
echo '{ "name": "@types/bun", "version": "0.0.0", "types": "index.d.ts" }' \
  >"$tmp/types-bun/package.json"
echo '/// <reference types="bun-types" />' >"$tmp/types-bun/index.d.ts"
cat >"$tmp/bun-app/package.json" <<EOF
{
  "name": "bun-app",
  "dependencies": { "sysipc": "file:$tgz" },
  "devDependencies": { "@types/bun": "file:../types-bun" },
  "peerDependenciesMeta": { "typescript": { "optional": true } }
}
EOF
cd "$tmp/bun-app"
quiet "$BUN" init -y || exit 1
ln -s "$ROOT/node_modules/bun-types" node_modules/bun-types
consumer sysipc bun >index.ts
if node "$TSC" --noEmit -p . >"$tmp/tsc.log"; then
  echo "tsc: no errors"
else
  cat "$tmp/tsc.log"
  echo "tsc: $(grep -c 'error TS' "$tmp/tsc.log") errors"
  status=1
fi
"$BUN" index.ts || status=1
# The package's command, as the README has Bun users start it (bunx finds the installed bin).
if PATH="$(dirname "$BUN"):$PATH" "$BUN" x sysipc ls --kind sysv-sem --json >"$tmp/cli.log" 2>&1 &&
  grep -q '"objects"' "$tmp/cli.log"; then
  echo "bunx sysipc: runs"
else
  cat "$tmp/cli.log"
  echo "bunx sysipc: failed"
  status=1
fi
cd "$ROOT"

echo "-- Deno project (strict, noUncheckedIndexedAccess), sysipc through an import map"
mkdir "$tmp/deno-app"
node -e '
  const { exports } = JSON.parse(require("fs").readFileSync("package.json", "utf8"));
  const imports = Object.fromEntries(Object.entries(exports).map(
    ([k, v]) => ["@sysipc/sysipc" + k.slice(1), "../package/" + v.slice(2)],
  ));
  const compilerOptions = { strict: true, noUncheckedIndexedAccess: true };
  console.log(JSON.stringify({ compilerOptions, imports }, null, 2));
' >"$tmp/deno-app/deno.json"
consumer @sysipc/sysipc deno >"$tmp/deno-app/main.ts"
cd "$tmp/deno-app"
if "$DENO" check --quiet main.ts 2>"$tmp/check.log"; then
  echo "deno check: no errors"
else
  sed 's/\x1b\[[0-9;]*m//g' "$tmp/check.log"
  status=1
fi
"$DENO" run --quiet --allow-ffi main.ts || status=1
cd "$ROOT"

echo "-- deno publish --dry-run"
out=$("$DENO" publish --dry-run --allow-dirty 2>&1 | sed 's/\x1b\[[0-9;]*m//g') || {
  echo "$out"
  exit 1
}
files=$(echo "$out" | sed -n 's|^ *file://'"$ROOT"'/\([^ ]*\) .*|\1|p')
# Library files only: the root files, and .ts files in the folders deno.json exports from.
folders=$(node -e '
  const { exports } = JSON.parse(require("fs").readFileSync("deno.json", "utf8"));
  const dirs = Object.values(exports).map((p) => p.slice(2).split("/").slice(0, -1).join("/"));
  console.log([...new Set(dirs.filter(Boolean)), "ffi/wait", "cli"].join("|"));
')
stray=$(echo "$files" |
  grep -Ev "^(README\.md|LICENSE|deno\.json|mod\.ts|cli\.ts|($folders)/[a-z_]+\.ts)$" || true)
warnings=$(echo "$out" | grep -E '^(warning|error)' | grep -v 'unanalyzable-dynamic-import' || true)
dynamic=$(echo "$out" | grep -A1 'unanalyzable-dynamic-import' | grep -Ev 'unanalyzable|ffi/bun\.ts|^--' || true)
if [ -n "$stray" ] || [ -n "$warnings" ] || [ -n "$dynamic" ]; then
  echo "$out"
  echo "unexpected in the JSR package: ${stray}${warnings}${dynamic}"
  exit 1
fi
echo "$(echo "$files" | wc -l) files, only the known bun:ffi warning"
exit $status
