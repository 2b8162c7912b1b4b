#!/bin/busybox sh
# PID 1 of the lab guest. Mounts the usual filesystems, brings up the management NIC
# (the virtio-net one: the e1000 is a device under test), starts the SSH server and says
# so on the serial console. Kernel command line switches:
#   lab.sshd=off   do not start the SSH server (to test the host's "sshd never answers" path)
# busybox's applet links are in the image (made when it was built): no --install here.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/run
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node of its own: open it once devtmpfs is there.
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname lab
ip link set lo up

mgmt=
for n in /sys/class/net/*; do
  [ "$(basename "$(readlink "$n/device/driver" 2>/dev/null)")" = virtio_net ] && mgmt=$(basename "$n")
done
if [ -n "$mgmt" ]; then
  ip addr add 10.0.2.15/24 dev "$mgmt"
  ip link set "$mgmt" up
else
  echo "lab-init: no virtio-net management NIC found" >&2
fi

# A fresh seed from the host, credited to the kernel: without it the SSH server's first
# getrandom() waits about a second under TCG for the kernel to gather timer jitter.
if [ -f /etc/lab/rng-seed ]; then
  /usr/sbin/lab-seed-rng /etc/lab/rng-seed || echo "lab-init: the entropy seed was not credited" >&2
  rm -f /etc/lab/rng-seed
fi

case " $(cat /proc/cmdline) " in
  *" lab.sshd=off "*) echo "lab-init: sshd disabled by lab.sshd=off" ;;
  *) /usr/sbin/dropbear -s -r /etc/dropbear/host_key -p 22 -P /run/dropbear.pid ;;
esac

echo "IOMMUFD-LAB-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
while :; do sleep 3600; done
