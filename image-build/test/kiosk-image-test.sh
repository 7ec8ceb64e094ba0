#!/bin/sh
# Test only (see kiosk-image-test.service): runs in the QEMU guest of `cargo xtask image-test`
# and reports on the serial console, one `IMAGE-TEST ...` line per proof; the host reads them.
say() { echo "IMAGE-TEST $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
active() { [ "$(systemctl is-active kiosk.service)" = active ]; }
pid() { systemctl show -p MainPID --value kiosk.service; }
# Waits until kiosk.service is active (READY=1 received) with a main PID other than $1.
wait_new() {
    n=0
    while ! active || [ "$(pid)" = "$1" ] || [ "$(pid)" = 0 ]; do
        n=$((n + 1))
        if [ "$n" -gt "$2" ]; then return 1; fi
        sleep 0.5
    done
}
fail() {
    say "FAIL $*"
    journalctl -b -u kiosk-provision.service -u kiosk.service --no-pager | tail -n 60
    systemctl poweroff
    exit 1
}

say "start uptime=$(up)"
PRINTER=
TRUST=
GATEWAY=
[ -f /boot/efi/image-test.env ] && . /boot/efi/image-test.env
# kioskctl on the kiosk's queue as the kiosk's user: the queue's files stay the kiosk's.
queue() { runuser -u kiosk -- kioskctl queue "$@" --config /var/lib/kiosk/kiosk.toml; }
marker=/var/lib/image-test/queued

# The second boot, after the host's system_reset (the first boot queued a submission with
# the gateway stopped): wait until the kiosk delivered it, then power off.
if [ -f "$marker" ]; then
    id=$(cat "$marker")
    say "rebooted uptime=$(up) queued=$id"
    wait_new 0 1200 || fail "kiosk.service never became active after the reset"
    t0=$(up)
    say "ready-again uptime=$t0"
    n=0
    until queue list --state delivered --limit 1000 2>/dev/null | grep -q "$id"; do
        n=$((n + 1))
        if [ "$n" -gt 300 ]; then
            queue list 2>&1 | sed 's/^/IMAGE-TEST queue: /'
            fail "$id not delivered within 300 s of the kiosk's start"
        fi
        sleep 1
    done
    t1=$(up)
    queue status 2>&1 | sed 's/^/IMAGE-TEST queue: /'
    queue list 2>&1 | grep "$id" | tr -s ' ' | sed 's/^/IMAGE-TEST queue: /'
    say "delivered id=$id after=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')"
    say "poweroff"
    systemctl poweroff
    exit 0
fi
# A full disk at first boot (kiosk-image-test-fill.service filled /var): once provisioning has
# said so, free the space; its next attempt goes on.
(
    n=0
    while ! journalctl -b -u kiosk-provision.service --no-pager | grep -q 'Check the disk has space'; do
        n=$((n + 1))
        if [ "$n" -gt 300 ]; then exit 0; fi
        sleep 2
    done
    rm -f /var/image-test-filler /var/image-test-filler2
    say "unfilled $(df -h /var | tail -n 1 | tr -s ' ')"
) &
# Not enrolled yet: the kiosk starts in technician mode (the provisioning screen) while
# kiosk-provision.service works (it retries every 30 s); once the marker is written the kiosk
# re-executes itself (same PID) into the serving kiosk, which logs "kiosk ready". Up to 10
# minutes under TCG.
kiosk_log() { journalctl -b -u kiosk.service --no-pager -o cat; }
wait_new 0 1200 || fail "kiosk.service never became active"
if [ ! -f /var/lib/kiosk/enrolled ] && kiosk_log | grep -q 'technician mode'; then
    say "technician uptime=$(up)"
fi
n=0
until [ -f /var/lib/kiosk/enrolled ] && kiosk_log | grep -q 'kiosk ready'; do
    n=$((n + 1))
    if [ "$n" -gt 1200 ]; then fail "the kiosk never served after provisioning"; fi
    sleep 0.5
done
say "ready uptime=$(up) enrolled=$(test -f /var/lib/kiosk/enrolled && echo yes || echo no) pid=$(pid)"
# This kiosk's own machine ID (the image ships none) and no unit enabled by the first boot's
# presets (apt's timers would be).
say "machine-id $(tr -dc 0-9a-f </etc/machine-id | wc -c) hex digits, apt-daily.timer $(systemctl is-enabled apt-daily.timer 2>&1)"
# The storage: the root read-only, /var the state partition, the machine ID kept on it.
root_opt=$(awk '$2 == "/" { o = $4 } END { split(o, a, ","); print a[1] }' /proc/mounts)
var_dev=$(awk '$2 == "/var" { d = $1 } END { print d }' /proc/mounts)
var=none
if [ -n "$var_dev" ]; then
    var=$var_dev
    state=$(readlink -f /dev/disk/by-partuuid/6d1c1d2e-5a7b-4f3e-9b1a-0c0de0000003)
    [ "$(readlink -f "$var_dev")" = "$state" ] && var=state
fi
mid=none
grep -q ' /etc/machine-id ' /proc/mounts && cmp -s /etc/machine-id /var/lib/machine-id && mid=kept
say "storage root=$root_opt var=$var machine-id=$mid"
journalctl -b -u systemd-journald.service --no-pager | grep -m1 'System Journal' | sed 's/^.*System Journal/IMAGE-TEST journal: System Journal/'
# The host takes its screenshot now.
sleep 15

# The devices the kiosk image drives, on virtual hardware: the kernel's `vivid` test camera
# through V4L2, and the host's virtual ESC/POS printer (address in image-test.env on the ESP).
if modprobe vivid n_devs=1 2>/dev/null && sleep 2 && [ -e /dev/video0 ]; then
    out=$(kioskctl camera test --device /dev/video0 --seconds 3 --size 640x480 2>&1)
    rc=$?
    say "camera rc=$rc $(echo "$out" | grep -i 'fps' | tail -n 1 | tr -s ' ')"
else
    say "camera rc=none (no vivid module)"
fi
if [ -n "$PRINTER" ]; then
    out=$(kioskctl printer test --device "$PRINTER" 2>&1)
    rc=$?
    say "printer rc=$rc $(echo "$out" | head -n 1 | tr -s ' ')"
fi

# The card: vpcd in pcscd (its reader.conf and a pcscd drop-in are written by image-test into
# this copy only), QEMU forwards a host port to vpcd's 35963, the host's virtual CCCD
# (cccd-vcard) connects through it when it sees `card-insert`, and serves its test CSCA at
# $TRUST; kioskctl reads the chip (PACE-CAN) and verifies it (passive and active authentication).
if [ -f /etc/reader.conf.d/vpcd ] && [ -n "$TRUST" ]; then
    systemctl start pcscd.service
    n=0
    # LISTEN (0A) on port 0x8C7B, IPv4 or IPv6.
    while ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ':8C7B [0-9A-F]*:0000 0A'; do
        n=$((n + 1))
        if [ "$n" -gt 120 ]; then fail "vpcd is not listening on 35963"; fi
        sleep 0.5
    done
    t0=$(up)
    say "card-insert"
    mkdir -p /run/image-test/trust
    csca=/run/image-test/trust/csca.der
    n=0
    until bash -c "cat < /dev/tcp/${TRUST%:*}/${TRUST#*:}" >"$csca" 2>/dev/null && [ -s "$csca" ]; do
        n=$((n + 1))
        if [ "$n" -gt 60 ]; then fail "no CSCA certificate from the host at $TRUST"; fi
        sleep 1
    done
    rc=1
    n=0
    while [ "$rc" != 0 ] && [ "$n" -lt 5 ]; do
        out=$(kioskctl card read --id 001090123456 --reader "Virtual PCD 00 00" --trust /run/image-test/trust 2>&1)
        rc=$?
        n=$((n + 1))
        [ "$rc" = 0 ] || sleep 2
    done
    t1=$(up)
    [ "$rc" = 0 ] || echo "$out" | tail -n 20 | sed 's/^/IMAGE-TEST card: /'
    say "card rc=$rc tries=$n after=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') $(echo "$out" | grep -m1 'identity' | tr -s ' ')"
fi

old=$(pid)
t0=$(up)
kill -9 "$old"
wait_new "$old" 240 || fail "not restarted after kill -9"
t1=$(up)
say "restarted pid=$(pid) after=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')"

# A hung kiosk: stopped, it sends no watchdog pings; systemd must kill and restart it.
old=$(pid)
t0=$(up)
kill -STOP "$old"
wait_new "$old" 360 || fail "not restarted by the watchdog"
t1=$(up)
say "watchdog-restarted pid=$(pid) after=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') restarts=$(systemctl show -p NRestarts --value kiosk.service)"
journalctl -b -u kiosk.service --no-pager | grep -i -m1 watchdog | sed 's/^/IMAGE-TEST journal: /'

# Exactly once across a hard reset: the host stops the gateway; a test submission is queued
# (committed when send-test prints its id); the host resets the machine at once. The second
# boot (above) waits for the delivery; the host counts the gateway's records.
if [ -n "$GATEWAY" ]; then
    say "stop-gateway"
    n=0
    while bash -c "exec 3<>/dev/tcp/${GATEWAY%:*}/${GATEWAY#*:}" 2>/dev/null; do
        n=$((n + 1))
        if [ "$n" -gt 60 ]; then fail "the host's gateway at $GATEWAY did not stop"; fi
        sleep 1
    done
    mkdir -p /run/image-test
    id=$(queue send-test 2>/run/image-test/send-test.err) || fail "send-test: $(cat /run/image-test/send-test.err)"
    mkdir -p "${marker%/*}"
    echo "$id" >"$marker"
    sync
    say "queued id=$id uptime=$(up)"
    sleep 120
    fail "no reset within 120 s of the queued submission"
fi
say "poweroff"
systemctl poweroff
