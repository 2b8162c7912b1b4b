#!/bin/sh
# Host-side smoke test of vfio-probe, no VM needed: it builds the probe into
# a temporary directory and checks that every command runs and prints valid
# JSON. It says nothing about VFIO behaviour (the host has no VFIO devices);
# it catches build breaks, crashes and malformed output before a guest
# image is built.
#
# usage: selfcheck.sh UAPI_INCLUDE_DIR
#   UAPI_INCLUDE_DIR: the target kernel's installed uAPI headers
#   (`make headers_install` output, the directory holding linux/iommufd.h).
set -eu

inc=${1:-}
if [ -z "$inc" ] || [ ! -f "$inc/linux/iommufd.h" ]; then
	echo "usage: $0 UAPI_INCLUDE_DIR (must contain linux/iommufd.h)" >&2
	exit 2
fi
command -v jq >/dev/null || { echo "selfcheck: jq is required" >&2; exit 2; }

src=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
probe=$out/vfio-probe

gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -I"$inc" -o "$probe" "$src"/*.c

check() { # NAME JQ-FILTER COMMAND...
	name=$1 filter=$2
	shift 2
	status=0
	"$@" >"$out/stdout" 2>"$out/stderr" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "FAIL $name: exit $status: $(cat "$out/stderr")"
		return 1
	fi
	if ! jq -e "$filter" "$out/stdout" >/dev/null; then
		echo "FAIL $name: output does not satisfy $filter:"
		head -c 2000 "$out/stdout"
		return 1
	fi
	echo "ok   $name"
}

fail=0
check info '.devices | type == "array" and all(.[]; .bdf and (.vendor | startswith("0x")))' \
	"$probe" info || fail=1
check run '.steps | length == 3 and .[0].errname == "ENOENT"
	and .[1].errname == "EBADF" and .[1].out_devid == null and .[2].ret == 0' \
	"$probe" run 'open d /nonexistent' 'bind d #-1' 'sleep 1' || fail=1
# /dev/null answers every ioctl with ENOTTY: the point is only that all 260
# records (5 accesses, 13 named ioctls, 242 swept numbers) come out, and that
# "swept" accounts for them: every nr in its range is tried once but the
# skipped BIND.
check parked '.open.ret >= 0 and (.ops | length) == 260 and .close.ret == 0
	and .swept.records == 260 and .swept.skipped == [{"name": "VFIO_DEVICE_BIND_IOMMUFD", "nr": 118}]
	and ([.ops[] | select(.kind == "ioctl") | .nr] | sort)
	    == [range(.swept.ioctl_nr_first; .swept.ioctl_nr_last + 1) | select(. != 118)]' \
	"$probe" parked /dev/null || fail=1
check parked-missing '.ops == [] and .close == null and .swept == null' \
	"$probe" parked /nonexistent || fail=1
check run-parked '(.steps[1].ops | length) == 260 and .steps[1].swept.records == 260' \
	"$probe" run 'open n /dev/null' 'parked n' || fail=1
check time-scale '.time_scale == 3' "$probe" --time-scale 3 run 'sleep 1' || fail=1
# DMA buffers need no device: create, refill, inspect; a BUF.gpa address
# resolves at run time (the GPA itself is null without root).
check run-buf '.steps | length == 4 and .[0].ret == 0 and (.[0].gpas | length) == 2
	and .[1].fill == 1 and .[2].changed == false and .[2].hex == ("01" * 64)
	and .[3].errname == "EBADF" and (.[3].iova == (.[0].gpa // "0x0"))' \
	"$probe" run 'buf b 8192 fill=0x5a' 'buf-fill b fill=1' 'buf-check b' \
	'map-buf #-1 #1 b b.gpa' || fail=1
# Past 256 pages the GPA list is left out (null), the first page's GPA and the
# per-page addresses (L.gpa+OFF) are not.
check run-buf-large '.steps[0].ret == 0 and .steps[0].gpas == null and .steps[0].length == 1052672
	and .steps[1].gpas == null and .steps[1].changed_bytes == 0' \
	"$probe" run 'buf L 1052672' 'buf-check L' || fail=1

usage_error() { # NAME COMMAND...: exit 2 and nothing on stdout
	name=$1
	shift
	status=0
	"$@" >"$out/stdout" 2>/dev/null || status=$?
	if [ "$status" -eq 2 ] && [ ! -s "$out/stdout" ]; then
		echo "ok   $name"
	else
		echo "FAIL $name: exit $status, stdout: $(head -c 200 "$out/stdout")"
		return 1
	fi
}
usage_error usage-error "$probe" run 'bind nosuchhandle #-1' || fail=1
usage_error bad-time-scale "$probe" --time-scale 0 run 'sleep 1' || fail=1
exit $fail
