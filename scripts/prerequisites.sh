#!/usr/bin/env bash
# Installs what the tests and the benchmark need beyond Node.js, npm and `npm ci`: gcc and the
# C headers (the layout test compiles a C probe, the benchmark a C baseline), and strace (the
# polling backend's test counts its poll() calls), socat (a Unix socket peer for the uds
# tests). Installs them
# with apt-get when it can (as root, on Debian or Ubuntu); otherwise says what is missing, and
# the tests that need it are reported as skipped, with the reason. SYSIPC_NO_INSTALL=1 only
# reports. Exits 0 even then (the tests report a missing tool), unless called with --require
# (CI, which must not skip checks).
set -uo pipefail
PACKAGES="gcc libc6-dev linux-libc-dev strace socat python3-sysv-ipc perl util-linux"

# Whether gcc can compile against the headers the probe includes.
have_c() {
  command -v gcc >/dev/null 2>&1 &&
    printf '#include <stdio.h>\n#include <linux/io_uring.h>\n' |
    gcc -E -x c - -o /dev/null >/dev/null 2>&1
}

have_all() {
  have_c && command -v strace >/dev/null 2>&1 && command -v socat >/dev/null 2>&1 &&
    /usr/bin/python3 -c 'import sysv_ipc' 2>/dev/null && perl -MIPC::Semaphore -e 1 >/dev/null 2>&1 &&
    command -v ipcmk >/dev/null 2>&1
}

have_all && exit 0
if [ "${SYSIPC_NO_INSTALL:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing $PACKAGES with apt-get (SYSIPC_NO_INSTALL=1 skips this)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null; then
    have_all && exit 0
  fi
  echo "apt-get could not install them"
fi
echo "some of $PACKAGES (Debian names) are missing: the tests that need them are skipped," \
  "and without gcc the benchmark runs without its C baseline"
[ "${1:-}" != --require ]
