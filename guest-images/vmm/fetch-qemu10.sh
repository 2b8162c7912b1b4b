#!/bin/sh
# Puts QEMU 10 (Debian bookworm-backports) into the lab's cache, beside the system's QEMU 7.2,
# which stays installed and in use. Needs root only for apt's downloads; changes no apt state
# of the machine (its own sources list, lists and cache live in the lab's cache).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec node --import tsx "$here/fetch-qemu10.ts" "$@"
