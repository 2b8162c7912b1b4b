#!/bin/sh
# /usr/bin/vmm in the lab's vmm images: QEMU as a VMM inside the guest (L1), driven through
# pipes because the image has no socket tools. The image holds one QEMU tree: /opt/qemu10 (vmm)
# or /opt/qemu72 (vmm-legacy, the system's 7.2).
#   vmm start [--legacy] BDF [QEMU ARGS...]
#                                 start QEMU (paused, -S) with BDF assigned at the L2 address
#                                 00:04.0: over iommufd (the cdev, -object iommufd), or with
#                                 --legacy through the group and container (/dev/vfio/vfio,
#                                 /dev/vfio/GROUP: what 7.2 knows); returns
#                                 once its qtest channel answers, i.e. once the device is realized
#   vmm qtest CMD...              one qtest command per argument, one answer line each
#   vmm quit                      HMP "quit"; waits for QEMU to exit and prints its exit status
#   vmm rss                       QEMU's resident memory (kB), from /proc
# Everything lives in /tmp/vmm: log (QEMU's stderr, the trace), pid, exit, the pipes.
set -eu
d=/tmp/vmm
root=${VMM_ROOT:-}
[ -n "$root" ] || for root in /opt/qemu10 /opt/qemu72; do [ -x $root/bin/qemu-system-x86_64 ] && break; done

ask() { # one qtest command, one answer line (read(1) on a pipe takes no more than the line)
  echo "$1" > $d/qt.in
  IFS= read -r answer < $d/qt.out
  echo "$answer"
}

case "${1:?usage: vmm start|qtest|quit|rss}" in
  start)
    shift
    legacy=
    if [ "${1:-}" = --legacy ]; then legacy=1; shift; fi
    bdf=${1:?usage: vmm start [--legacy] BDF [QEMU ARGS...]}; shift
    # Over iommufd QEMU traces the backend's ioctls; the legacy path has no such events, so it
    # traces the device's realize, the RAM sections it maps (MAP_DMA) and the teardown.
    if [ -n "$legacy" ]; then
      set -- -device vfio-pci,host="$bdf",id=hostdev0,bus=pcie.0,addr=0x4 \
        -trace vfio_get_device -trace 'vfio_listener_region_add_*' -trace 'vfio_put_*' -trace vfio_disconnect_container "$@"
    else
      set -- -object iommufd,id=fd0 -device vfio-pci,host="$bdf",iommufd=fd0,id=hostdev0,bus=pcie.0,addr=0x4 -trace 'iommufd_*' "$@"
    fi
    rm -rf $d && mkdir -p $d
    mkfifo $d/qt.in $d/qt.out $d/mon.in $d/mon.out
    # sh -c records its own pid and then becomes QEMU: the pid file is QEMU's, exactly.
    QEMU_MODULE_DIR=$root/lib sh -c 'echo $$ > /tmp/vmm/pid; exec "$@"' vmm $root/bin/qemu-system-x86_64 -L $root/share \
        -M q35 -m "${VMM_MEM:-64}" -nodefaults -display none -bios qboot.rom -S \
        -qtest pipe:$d/qt -qtest-log /dev/null -monitor pipe:$d/mon \
        "$@" </dev/null >$d/log 2>&1 &
    i=0
    while [ ! -s $d/pid ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.05; done
    # The qtest channel is served from the main loop, so an answer means machine init (and the
    # device's BIND … MAP) is over; a QEMU that died instead leaves the answer empty.
    ( ask 'readl 0x0' > $d/first ) 2>/dev/null &
    waiter=$!
    i=0
    while kill -0 "$waiter" 2>/dev/null; do
      kill -0 "$(cat $d/pid)" 2>/dev/null || { kill "$waiter" 2>/dev/null; echo "vmm: QEMU exited during start" >&2; cat $d/log >&2; exit 1; }
      i=$((i + 1)); [ $i -lt "${VMM_START_TICKS:-600}" ] || { echo "vmm: no qtest answer" >&2; exit 1; }
      sleep 0.1
    done
    echo "started pid $(cat $d/pid) first-answer $(cat $d/first)"
    ;;
  qtest)
    shift
    for c in "$@"; do ask "$c"; done
    ;;
  quit)
    pid=$(cat $d/pid)
    echo quit > $d/mon.in
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1)); [ $i -lt 300 ] || { echo "vmm: QEMU did not quit; killing it" >&2; kill -9 "$pid"; break; }
      sleep 0.1
    done
    echo "exited after $((i / 10)).$((i % 10)) s"
    ;;
  rss)
    awk '/^VmRSS|^VmHWM/ { print $1, $2 }' "/proc/$(cat $d/pid)/status"
    ;;
  *) echo "vmm: unknown command $1" >&2; exit 2 ;;
esac
