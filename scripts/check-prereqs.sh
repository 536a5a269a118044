#!/usr/bin/env bash
# What `make test` needs before it can install the rest itself, each named with the fix:
# a Debian-like machine with apt-get, root (the real-component tests make network namespaces
# and install packages), rustup with the toolchain rust-toolchain.toml pins, a C compiler and
# make. Everything else (nginx, PostgreSQL, Redis, ..., the Python venv, maturin, zig) is
# installed by `make test` itself.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
problems=()
need() { # need COMMAND FIX
  command -v "$1" >/dev/null 2>&1 || problems+=("$1 not found: $2")
}
need apt-get "make test installs the programs it runs with apt-get (Debian 12 or Ubuntu)"
need make "apt-get install make"
need cc "apt-get install gcc (Rust links with the system C compiler)"
need python3 "apt-get install python3 python3-venv"
need rustup "install rustup: https://rustup.rs (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh)"
if command -v rustup >/dev/null 2>&1; then
  want=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
  if ! rustup run "$want" rustc --version >/dev/null 2>&1; then
    problems+=("the pinned Rust toolchain $want is not installed: rustup toolchain install $want --component rustfmt,clippy")
  fi
fi
if [ "$(id -u)" -ne 0 ]; then
  problems+=("not root: the real-component tests make network namespaces and install Debian packages (run make test as root, e.g. sudo -E make test)")
fi
if [ "${#problems[@]}" -gt 0 ]; then
  echo "make test cannot start on this machine:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "prerequisites: ok (root, apt-get, make, cc, python3, rustup with $(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml))"
