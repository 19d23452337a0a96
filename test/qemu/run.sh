#!/usr/bin/env bash
# test/qemu/run.sh: the bridge's host backend on a Raspberry Pi 3's own kernel
# GPIO driver, in QEMU, without a Raspberry Pi.
#
# It cross-compiles ./cmd/oscgpio and the guest /init (./test/qemu/guest) for
# linux/arm64, boots them with Debian's arm64 kernel and its stock Pi 3 device
# tree in `qemu-system-aarch64 -M raspi3b` (pinctrl-bcm2835, /dev/gpiochip0,
# lines named GPIO17...), runs `oscgpio run --gpio host` there, and checks from
# outside, through QEMU's qtest, the levels the bridge writes to GPIO17 (a
# pulse and a blink among them, timed by sampling GPLEV0), the reports it
# sends when GPIO27 is driven, what a SIGHUP reload does and does not
# write (QEMU's trace of MMIO writes), and what the kernel leaves in the
# registers after a SIGTERM exit and after a kill -9, and a restart after it.
# See test/qemu/README.md.
#
# Usage: bash test/qemu/run.sh        (root, or the tools already installed)
# Environment:
#   OSCGPIO_QEMU_WORK     work dir (default test/qemu/work, git-ignored): the
#                         kernel is downloaded once into WORK/kernel and reused
#   OSCGPIO_QEMU_REFRESH  set to 1 to download the kernel package again
#   OSCGPIO_QEMU_TIMEOUT  seconds QEMU may run at most (default 300)
#   OSCGPIO_BIN           a prebuilt linux/arm64 oscgpio to test instead of
#                         building ./cmd/oscgpio
#   GO                    the go command (default: go in PATH, /usr/local/go/bin/go)
#
# Handshake: guest -> host through the serial console, host -> guest through
# a GPIO line. The guest prints "STEP NAME" on the console (QEMU writes it to
# WORK/run/console.log) and waits until GPIO22, the "go" line, changes level.
# This script waits for that line in the log, does the step's checks through
# qtest (-qtest pipe: two FIFOs; readl GPLEV0/GPFSELn, writel GPSET0/GPCLR0),
# then toggles GPIO22 through qtest; the guest polls it as an input through the
# kernel's GPIO character device. (The serial port cannot carry the host's
# side: with the stock DTB the PL011 belongs to the Bluetooth serdev and no
# tty reads it.) Nothing waits a fixed time: every wait polls for a console
# line or a register value, each with a deadline.
#
# Reloads: QEMU traces every MMIO write (-trace memory_region_ops_write, in
# WORK/run/mmio.log). Around each reload the host writes 0 to GPSET0 through
# qtest (no effect on any level) as a marker; after QEMU exits, the guest's
# writes to the GPIO block between two markers say what the reload wrote
# (markers 1-4); markers 5-6 frame a SIGKILL and the kernel's release.
#
# Exit status: 0 when every check passed, 1 when one failed, 2 when the
# test could not run (missing tool, download or build failure).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/../.." && pwd)
work=${OSCGPIO_QEMU_WORK:-$here/work}
qemu_timeout=${OSCGPIO_QEMU_TIMEOUT:-300}
boot_timeout=120 # seconds from QEMU's start to the guest's first step
step_timeout=60  # seconds for any later step of the guest
level_timeout=10 # seconds for a GPIO level or a dump line to appear
start_ns=$(date +%s%N)

elapsed() { local ms=$((($(date +%s%N) - start_ns) / 1000000)); printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)); }
log() { printf '[%7s] %s\n' "$(elapsed)" "$*"; }

# ---- checks -------------------------------------------------------------
checks=(boot fsel17 led-initial led-on led-off button-press button-release button-exact
	pulse blink led-on-again reload-log reload-kept reload-new reload-serving reload-input refused-log
	refused-kept exit-code safe-level stop-released reload-count reload-unwritten poll-once drivers
	kill-armed kill-state kill-written restart-initial poweroff)
declare -A what=(
	[boot]="guest booted; bridge and dump listening on loopback"
	[fsel17]="GPIO17 made an output by the bridge (GPFSEL1)"
	[led-initial]="GPIO17 low after start (initial: off)"
	[led-on]="GPIO17 high after /led 1"
	[led-off]="GPIO17 low after /led 0"
	[button-press]="dump printed '/button i 1' after GPIO27 was driven high"
	[button-release]="dump printed '/button i 0' after GPIO27 was driven low"
	[button-exact]="dump printed exactly '/button i 0' (its state at start), '/button i 1', '/button i 0'"
	[pulse]="/led/pulse 0.4: GPIO17 went high once and low again by itself, high for 0.25-0.8 s (GPLEV0 sampled)"
	[blink]="/led/blink 0.4 3: GPIO17 rose exactly 3 times and ended low (GPLEV0 sampled)"
	[led-on-again]="GPIO17 high again before the reload"
	[reload-log]="SIGHUP: the log says 'mapping applied' (1 output and 1 input kept) then 'mapping reloaded' why=SIGHUP"
	[reload-kept]="GPIO17 stayed high and an output all through the reload (GPLEV0, GPFSEL1 sampled)"
	[reload-new]="GPIO23 (new, initial: on) made an output and high by the reload"
	[reload-serving]="GPIO17 low after /led 0 sent to the reloaded bridge"
	[reload-input]="after the reload GPIO27 reported once more: the dump has exactly 0, 1, 0, 1, 0"
	[refused-log]="a reload with an unknown pin refused, its FILE:LINE:COL error in the log, nothing applied"
	[refused-kept]="after the refused reload /light 1 moves GPIO17 and GPIO23 stays high"
	[exit-code]="bridge exited with code 0 on SIGTERM"
	[safe-level]="GPIO17 and GPIO23 at their safe level (low) after the bridge exited"
	[stop-released]="after the SIGTERM exit GPIO17 and GPIO23 are inputs (GPFSEL function 0): the kernel released them"
	[reload-count]="the bridge's exit summary counts reloads=1 (the refused one not counted)"
	[reload-unwritten]="MMIO trace: the reload wrote GPIO23, never GPIO17; the refused one wrote no GPIO register"
	[poll-once]="the bridge's log says once that GPIO27 is polled"
	[drivers]="each driver that failed in host.Init on its own line of the bridge's log"
	[kill-armed]="a second bridge (led on GPIO17, relay active-low on GPIO23): /led 1 and /relay 1 make GPIO17 high, GPIO23 low, both outputs"
	[kill-state]="after kill -9, the process reaped and its lines free: GPIO17 and GPIO23 are inputs (function 0), GPLEV0 holds their last levels (17 high, 23 low)"
	[kill-written]="MMIO trace from SIGKILL to the host's look: only GPFSEL1/GPFSEL2 written, GPIO17 and GPIO23 to function 0 (input), no GPSET0/GPCLR0"
	[restart-initial]="the bridge started again with the same mapping puts GPIO17 low and GPIO23 high (initial: off), both outputs"
	[poweroff]="guest powered off and QEMU exited by itself"
)
declare -A result=()
npass=0 nfail=0
# pass NAME [DETAIL]: DETAIL (a measurement) follows the check's text.
pass() { result[$1]=PASS; npass=$((npass + 1)); printf 'PASS  %-16s %s%s\n' "$1" "${what[$1]}" "${2:+: $2}"; }
fail() { result[$1]=FAIL; nfail=$((nfail + 1)); printf 'FAIL  %-16s %s: %s\n' "$1" "${what[$1]}" "$2"; }

qpid='' # the `timeout qemu-system-aarch64` job
finish() {
	local rc=$1
	trap - EXIT
	if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	log "total time $(elapsed)"
	echo "qemu: $npass passed, $nfail failed"
	exit "$rc"
}
setup_fail() {
	echo "FAIL  setup          $*"
	nfail=$((nfail + 1))
	finish 2
}
trap 'setup_fail "run.sh stopped unexpectedly (line $LINENO)"' EXIT

# ---- tools --------------------------------------------------------------
log "tools"
pkgs=()
command -v qemu-system-aarch64 >/dev/null || pkgs+=(qemu-system-arm)
command -v cpio >/dev/null || pkgs+=(cpio)
command -v dtc >/dev/null || pkgs+=(device-tree-compiler)
if ((${#pkgs[@]})); then
	command -v apt-get >/dev/null || setup_fail "missing ${pkgs[*]} and no apt-get to install them"
	[[ $(id -u) == 0 ]] || setup_fail "missing ${pkgs[*]}: run as root (apt-get install) or install them"
	log "apt-get install ${pkgs[*]}"
	timeout 900 apt-get update -qq || setup_fail "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
		setup_fail "apt-get install ${pkgs[*]} failed"
fi
for t in qemu-system-aarch64 cpio dtc gzip timeout mkfifo awk; do
	command -v "$t" >/dev/null || setup_fail "$t not found"
done
# QEMU's trace of MMIO writes (the "log" trace backend, as Debian builds it):
# without it reload-unwritten fails and every other check still runs.
trace_opt=() trace_missing=''
if qemu-system-aarch64 -trace help 2>/dev/null | grep -qx memory_region_ops_write; then
	trace_opt=(-trace "enable=memory_region_ops_write,file=$work/run/mmio.log")
else
	trace_missing="this qemu-system-aarch64 cannot trace memory_region_ops_write (built without the log trace backend)"
fi
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || setup_fail "no go command (set GO=/path/to/go)"

# ---- kernel: Debian's arm64 package, downloaded once --------------------
kdir=$work/kernel
fetch_kernel() {
	if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
		setup_fail "the kernel is not in $kdir and there is no apt-get/dpkg-deb to download it"
	fi
	local a=$work/apt f
	rm -rf "$a" && mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources" "$a/deb"
	: >"$a/sources/none.list"
	# The machine's own sources, each limited to arm64; no mirror is named here.
	for f in /etc/apt/sources.list.d/*.sources; do
		if [[ -f $f ]]; then
			awk '!/^Architectures:/ {print} /^Types:/ {print "Architectures: arm64"}' "$f" >"$a/sources/${f##*/}"
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		if [[ -f $f ]]; then
			sed -nE 's/^deb (\[([^]]*)\] )?/deb [arch=arm64 \2] /p' "$f" >"$a/sources/${f##*/}.list"
		fi
	done
	cat >"$a/apt.conf" <<-EOF
		APT::Architecture "arm64";
		APT::Architectures { "arm64"; };
		APT::Sandbox::User "root";
		Dir::State::Lists "$a/lists";
		Dir::Cache "$a/cache";
		Dir::Etc::SourceList "$a/sources/none.list";
		Dir::Etc::SourceParts "$a/sources";
		Acquire::Languages "none";
		Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
		Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
		Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
		Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
	EOF
	export APT_CONFIG=$a/apt.conf
	log "apt-get update (arm64 lists only, in $a)"
	timeout 900 apt-get update -qq || log "apt-get update reported errors; trying with the lists it got"
	local pkg
	pkg=$(apt-cache show --no-all-versions linux-image-arm64 2>/dev/null |
		sed -n 's/^Depends: *\(linux-image-[0-9][^ ,]*\).*/\1/p' | head -n 1)
	[[ -n $pkg ]] || setup_fail "apt (arm64) knows no linux-image-arm64 package"
	log "apt-get download $pkg"
	(cd "$a/deb" && timeout 900 apt-get download -qq "$pkg") || setup_fail "apt-get download $pkg failed"
	unset APT_CONFIG
	local deb ver=${pkg#linux-image-} x=$a/x
	deb=$(echo "$a/deb/${pkg}"_*.deb)
	[[ -f $deb ]] || setup_fail "no .deb for $pkg in $a/deb"
	dpkg-deb -x "$deb" "$x" || setup_fail "dpkg-deb -x $deb failed"
	local t=$kdir.new wdt
	rm -rf "$t" && mkdir -p "$t"
	cp "$x/boot/vmlinuz-$ver" "$t/Image" || setup_fail "$pkg has no /boot/vmlinuz-$ver"
	cp "$x/usr/lib/linux-image-$ver/broadcom/bcm2837-rpi-3-b.dtb" "$t/" || setup_fail "$pkg has no bcm2837-rpi-3-b.dtb"
	wdt=$(find "$x/lib/modules/$ver" -name 'bcm2835_wdt.ko*' | head -n 1)
	case $wdt in
	*.ko) cp "$wdt" "$t/bcm2835_wdt.ko" ;;
	*.ko.xz) xz -dc "$wdt" >"$t/bcm2835_wdt.ko" ;;
	*.ko.zst) zstd -qdc "$wdt" >"$t/bcm2835_wdt.ko" ;;
	*) setup_fail "$pkg has no bcm2835_wdt module" ;;
	esac
	echo "$pkg" >"$t/package"
	rm -rf "$kdir" && mv "$t" "$kdir"
	rm -rf "$a" # lists, .deb and unpacked tree are not needed again
}
if [[ -n ${OSCGPIO_QEMU_REFRESH:-} || ! -s $kdir/Image || ! -s $kdir/bcm2837-rpi-3-b.dtb || ! -s $kdir/bcm2835_wdt.ko ]]; then
	fetch_kernel
fi
log "kernel $(cat "$kdir/package" 2>/dev/null || echo '?') (cached in $kdir)"
# The stock DTB's strings, one a line (gpio-line-names is one \0-separated list).
dts=$(dtc -q -I dtb -O dts "$kdir/bcm2837-rpi-3-b.dtb" | tr '"' '\n' | sed 's/\\0/\n/g') ||
	setup_fail "dtc cannot read $kdir/bcm2837-rpi-3-b.dtb"
for n in brcm,bcm2835-gpio GPIO17 GPIO27; do
	grep -qxF -- "$n" <<<"$dts" || setup_fail "the stock DTB has no \"$n\": this test needs the BCM2835 GPIO block with lines named GPIO17, GPIO27"
done

# ---- build ----------------------------------------------------------------
bdir=$work/build
rm -rf "$bdir" && mkdir -p "$bdir"
if [[ -n ${OSCGPIO_BIN:-} ]]; then
	log "oscgpio: $OSCGPIO_BIN (prebuilt)"
	cp "$OSCGPIO_BIN" "$bdir/oscgpio" || setup_fail "cannot copy $OSCGPIO_BIN"
else
	log "go build ./cmd/oscgpio (linux/arm64)"
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 "$GO" build -trimpath -ldflags='-s -w' -o "$bdir/oscgpio" ./cmd/oscgpio) ||
		setup_fail "go build ./cmd/oscgpio failed"
fi
log "go build ./test/qemu/guest (linux/arm64)"
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 "$GO" build -trimpath -ldflags='-s -w' -o "$bdir/init" ./test/qemu/guest) ||
	setup_fail "go build ./test/qemu/guest failed"

rfs=$work/rootfs
rm -rf "$rfs" && mkdir -p "$rfs"/{bin,dev,etc,proc,sys,lib/modules}
install -m 0755 "$bdir/init" "$rfs/init"
install -m 0755 "$bdir/oscgpio" "$rfs/bin/oscgpio"
install -m 0644 "$kdir/bcm2835_wdt.ko" "$rfs/lib/modules/bcm2835_wdt.ko"
(cd "$rfs" && find . -print0 | cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1 >"$work/initrd.gz" ||
	setup_fail "building the initramfs failed"

# ---- boot -------------------------------------------------------------------
run=$work/run
rm -rf "$run" && mkdir -p "$run"
con=$run/console.log
: >"$con"
mkfifo "$run/qtest.in" "$run/qtest.out"
# Opened read-write so that neither open blocks, whoever comes first.
exec 3<>"$run/qtest.in" 4<>"$run/qtest.out"
log "boot qemu-system-aarch64 -M raspi3b (stock DTB; log in $con)"
timeout -k 5 "$qemu_timeout" qemu-system-aarch64 \
	-M raspi3b -m 1G -accel tcg,thread=single -no-reboot -display none -monitor none \
	-kernel "$kdir/Image" -dtb "$kdir/bcm2837-rpi-3-b.dtb" -initrd "$work/initrd.gz" \
	-append "console=ttyAMA0,115200 rdinit=/init quiet loglevel=3" \
	-serial "file:$con" -qtest "pipe:$run/qtest" -qtest-log "$run/qtest.log" "${trace_opt[@]}" \
	</dev/null >"$run/qemu.out" 2>"$run/qemu.err" &
qpid=$!
trap 'finish 2' EXIT

# ---- host side of the handshake --------------------------------------------
# qt CMD...: one qtest command; the reply is left in $qt_reply.
qt() {
	printf '%s\n' "$*" >&3
	IFS= read -r -t 10 qt_reply <&4 || { qt_reply="no reply from qtest within 10s"; return 1; }
	[[ $qt_reply == OK* ]]
}
GPFSEL1=0x3f200004 GPSET0=0x3f20001c GPCLR0=0x3f200028 GPLEV0=0x3f200034
# bit N: GPLEV0 bit N -> $lvl (0 or 1), or fails.
lvl=''
bit() { qt readl "$GPLEV0" && lvl=$(((${qt_reply#OK } >> $1) & 1)); }
# fn N: GPIO N's function (GPFSELn) -> $fn (0 input, 1 output), or fails.
fn=''
fn() { qt readl $((0x3f200000 + $1 / 10 * 4)) && fn=$(((${qt_reply#OK } >> ($1 % 10 * 3)) & 7)); }
# mark: a marker in QEMU's MMIO trace (0 to GPSET0 changes no level).
marks=0
mark() { qt writel "$GPSET0" 0 && marks=$((marks + 1)); }
# wait_bit N WANT: polls GPLEV0 until bit N is WANT or level_timeout passed.
wait_bit() {
	local end=$((SECONDS + level_timeout))
	while bit "$1"; do
		((lvl == $2)) && return 0
		((SECONDS < end)) || return 1
		sleep 0.02
	done
	return 1
}
# has_line TEXT: the console log has a line that is exactly TEXT.
has_line() { awk -v t="$1" '{ sub(/\r$/, "") } $0 == t { f = 1; exit } END { exit !f }' "$con"; }
# wait_line TEXT SECONDS [SAMPLER]: 0 seen, 1 deadline, 2 guest aborted, 3 QEMU
# gone. SAMPLER, a command, runs before each look at the log.
wait_line() {
	local end=$((SECONDS + $2))
	while :; do
		[[ -z ${3:-} ]] || $3
		has_line "$1" && return 0
		grep -aq '^GUEST ABORT' "$con" && return 2
		kill -0 "$qpid" 2>/dev/null || { has_line "$1" && return 0; return 3; }
		((SECONDS < end)) || return 1
		if [[ -n ${3:-} ]]; then sleep 0.005; else sleep 0.05; fi
	done
}
why=''
# step NAME SECONDS [SAMPLER]: waits for the guest's "STEP NAME"; sets $why if not.
step() {
	local r=0
	wait_line "STEP $1" "$2" "${3:-}" || r=$?
	case $r in
	0) return 0 ;;
	1) why="the guest printed no 'STEP $1' within $2s" ;;
	2) why="the guest aborted: $(grep -a -m1 '^GUEST ABORT' "$con" | tr -d '\r')" ;;
	*) why="QEMU exited before 'STEP $1'" ;;
	esac
	return 1
}
# next: the host is done with the guest's current step: toggle GPIO22.
go_level=0
next() {
	if ((go_level == 0)); then qt writel "$GPSET0" 0x00400000; else qt writel "$GPCLR0" 0x00400000; fi ||
		{ why="qtest cannot toggle GPIO22: $qt_reply"; return 1; }
	go_level=$((1 - go_level))
}
bridge_lines() { awk '{ sub(/\r$/, "") } /^bridge:(out|err)\| / { print substr($0, 13) }' "$con"; }
# buttons: the dump's /button lines so far, joined with ", ".
buttons() { awk '{ sub(/\r$/, "") } /^dump:out\| \/button/ { printf "%s%s", s, substr($0, 11); s = ", " }' "$con"; }
# wait_buttons WANT: polls buttons until it prints WANT or level_timeout passed.
seen=''
wait_buttons() {
	local end=$((SECONDS + level_timeout))
	while seen=$(buttons) && [[ $seen != "$1" ]]; do
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}
# sample17: one sample of GPIO17 during the reload (see reload-kept).
samples=0 samples_low=0 samples_notout=0
sample17() {
	bit 17 || return 0
	samples=$((samples + 1))
	((lvl == 1)) || samples_low=$((samples_low + 1))
	fn 17 || return 0
	((fn == 1)) || samples_notout=$((samples_notout + 1))
}
# edges17: one sample of GPIO17 during a pulse or a blink (1 if qtest
# failed). Each change of level goes to edge_v, with the time (us) of the
# first sample that saw it in edge_t and of the sample before in edge_p: the
# change happened in between. edge_gap: the longest time between two samples.
# edges_reset: GPIO17 was just read low; nothing else sampled yet.
edge_t=() edge_p=() edge_v=() edge_prev=0 edge_n=0 edge_last=0 edge_gap=0
now_us() { now=${EPOCHREALTIME/[.,]/}; }
edges_reset() { now_us; edge_t=() edge_p=() edge_v=() edge_prev=0 edge_n=0 edge_last=$now edge_gap=0; }
edges17() {
	bit 17 || return 1
	now_us
	((now - edge_last > edge_gap)) && edge_gap=$((now - edge_last))
	if ((lvl != edge_prev)); then
		edge_t+=("$now") edge_p+=("$edge_last") edge_v+=("$lvl") edge_prev=$lvl
	fi
	edge_last=$now edge_n=$((edge_n + 1))
}
# burst17: the sampler of the pulse and blink steps: edges17 without a pause
# (a qtest round trip apart, no process started) for 100 ms; between bursts
# step looks at the console log.
burst17() {
	now_us
	local end=$((now + 100000))
	while edges17 && ((now < end)); do :; done
	return 0
}
# edge_mid I / edge_err I: change I happened at edge_mid +- edge_err (us).
edge_mid() { echo $(((edge_p[$1] + edge_t[$1]) / 2)); }
edge_err() { echo $(((edge_t[$1] - edge_p[$1] + 1) / 2)); }
# span I J: from change I to change J -> $span_us +- $span_err (us), and
# $span as "S +- E" (seconds).
span_us=0 span_err=0 span=''
span() {
	span_us=$(($(edge_mid "$2") - $(edge_mid "$1"))) span_err=$(($(edge_err "$1") + $(edge_err "$2")))
	span="$(ms "$span_us") +- $(ms "$span_err")"
}
# ms US: microseconds as seconds with 3 decimals.
ms() { printf '%d.%03d' $(($1 / 1000000)) $(($1 % 1000000 / 1000)); }
# edges_seen: the levels sampled, in order ("1 0 1 0"), and the sampling.
edges_seen() { echo "levels seen: ${edge_v[*]:-none}; $edge_n samples, at most $(ms "$edge_gap") s apart"; }
# trace_writes: the guest's writes to the GPIO block inside the marked
# windows, "WINDOW ADDR VALUE" a line (window 1: the reload, 2: the refused
# one, 3: from just before the SIGKILL to the host's look after it).
trace_writes() {
	awk '$1 == "memory_region_ops_write" && $13 ~ /bcm2835_gpio/ {
		if ($3 == -1) { if ($7 == "0x3f20001c" && $9 == "0x0") m++; next }
		if (m % 2 == 1) print (m + 1) / 2, $7, $9
	}' "$run/mmio.log"
}

drive() {
	step ready "$boot_timeout" || { fail boot "$why"; return 1; }
	pass boot
	local end=$((SECONDS + level_timeout)) fsel=''
	while qt readl "$GPFSEL1"; do
		fsel=$(((${qt_reply#OK } >> 21) & 7))
		((fsel == 1 || SECONDS >= end)) && break
		sleep 0.02
	done
	if [[ $fsel == 1 ]]; then pass fsel17; else fail fsel17 "GPFSEL1 function of GPIO17 is '${fsel:-?}', want 1 (output); qtest: $qt_reply"; fi
	if bit 17 && ((lvl == 0)); then pass led-initial; else fail led-initial "GPLEV0 bit 17 is ${lvl:-?} ($qt_reply)"; fi
	next || return 1

	step led-on "$step_timeout" || { fail led-on "$why"; return 1; }
	if wait_bit 17 1; then pass led-on; else fail led-on "GPLEV0 bit 17 still ${lvl:-?} after ${level_timeout}s ($qt_reply)"; fi
	next || return 1

	step led-off "$step_timeout" || { fail led-off "$why"; return 1; }
	if wait_bit 17 0; then pass led-off; else fail led-off "GPLEV0 bit 17 still ${lvl:-?} after ${level_timeout}s ($qt_reply)"; fi
	next || return 1

	step button "$step_timeout" || { fail button-press "$why"; return 1; }
	local r=0
	# The dump starts with the button's state at start (report_at_start): /button i 0.
	qt writel "$GPSET0" 0x08000000 || fail button-press "qtest writel GPSET0: $qt_reply"
	wait_buttons '/button i 0, /button i 1' || r=$?
	if ((r == 0)); then pass button-press; elif [[ -z ${result[button-press]:-} ]]; then fail button-press "not in the console log after ${level_timeout}s (the dump has: ${seen:-nothing})"; fi
	r=0
	qt writel "$GPCLR0" 0x08000000 || fail button-release "qtest writel GPCLR0: $qt_reply"
	wait_buttons '/button i 0, /button i 1, /button i 0' || r=$?
	if ((r == 0)); then pass button-release; elif [[ -z ${result[button-release]:-} ]]; then fail button-release "not in the console log after ${level_timeout}s (the dump has: ${seen:-nothing})"; fi
	seen=$(buttons)
	if [[ $seen == '/button i 0, /button i 1, /button i 0' ]]; then pass button-exact; else fail button-exact "got: ${seen:-nothing}"; fi
	next || return 1

	# Output actions, from GPIO17 low: the guest sends each after the host's
	# go, and the host samples GPLEV0 from that go until the guest's next
	# step line, which it prints once the bridge's log says the action's
	# timer turned GPIO17 off (once for the pulse, 3 times for the blink).
	# Outside the reload's marker windows. Samples come a qtest round trip
	# apart, but a look at the log between bursts, or a loaded machine, can
	# delay one: an edge is placed between the samples around it, and the
	# pulse's time is checked only when that is known to +- 0.15 s. The
	# window (0.25-0.8 s) is wide as QEMU's TCG, on a loaded machine, can
	# delay the bridge's timers.
	step pulse "$step_timeout" || { fail pulse "$why"; return 1; }
	if ! bit 17 || ((lvl != 0)); then
		fail pulse "GPIO17 is ${lvl:-?} before the pulse, want 0 ($qt_reply)"
	fi
	edges_reset
	next || return 1
	step pulsed "$step_timeout" burst17 || { fail pulse "$why"; return 1; }
	edges17 || true
	if [[ -n ${result[pulse]:-} ]]; then
		:
	elif [[ ${edge_v[*]:-} != '1 0' ]]; then
		fail pulse "want one rise and one fall: $(edges_seen)"
	else
		span 0 1
		if ((span_err > 150000)); then
			fail pulse "high for $span s: the samples around the edges are too far apart to tell ($(edges_seen))"
		elif ((span_us >= 250000 && span_us <= 800000)); then
			pass pulse "measured $span s high ($(edges_seen))"
		else
			fail pulse "measured $span s high, want 0.25-0.8 s ($(edges_seen))"
		fi
	fi
	if ! bit 17 || ((lvl != 0)); then
		fail blink "GPIO17 is ${lvl:-?} before the blink, want 0 ($qt_reply)"
	fi
	edges_reset
	next || return 1
	step blinked "$step_timeout" burst17 || { fail blink "$why"; return 1; }
	edges17 || true
	if [[ -n ${result[blink]:-} ]]; then
		:
	elif [[ ${edge_v[*]:-} != '1 0 1 0 1 0' ]]; then
		fail blink "want 3 rises, each followed by a fall, ending low: $(edges_seen)"
	else
		local on=() per=() i
		for i in 0 2 4; do span "$i" $((i + 1)) && on+=("$span"); done
		for i in 2 4; do span $((i - 2)) "$i" && per+=("$span"); done
		pass blink "3 rises; on for ${on[0]}, ${on[1]}, ${on[2]} s; rise to rise ${per[0]}, ${per[1]} s ($(edges_seen))"
	fi
	next || return 1

	step led-on-again "$step_timeout" || { fail led-on-again "$why"; return 1; }
	if wait_bit 17 1; then pass led-on-again; else fail led-on-again "GPLEV0 bit 17 still ${lvl:-?} after ${level_timeout}s ($qt_reply)"; fi
	# GPIO23 before the reload: untouched (low, input), or reload-new proves nothing.
	local before23='?'
	bit 23 && fn 23 && before23="level $lvl, function $fn"
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	next || return 1

	# The reload: GPIO17 sampled until the guest says the bridge reloaded.
	step reloaded "$step_timeout" sample17 || { fail reload-log "$why"; return 1; }
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	log "reload: $samples samples of GPLEV0/GPFSEL1 while the bridge reloaded"
	local applied reloaded
	applied=$(bridge_lines | grep -F 'msg="mapping applied"' || true)
	reloaded=$(bridge_lines | awk '/msg="mapping applied"/ { a = 1 } a && /msg="mapping reloaded" why=SIGHUP/ { f = 1 } END { exit !f }' && echo yes || true)
	if ! has_line 'RELOAD reloaded'; then
		fail reload-log "the guest saw: $(grep -a -m1 '^RELOAD ' "$con" | tr -d '\r')"
	elif [[ $(wc -l <<<"$applied") != 1 ]] || ! grep -qE 'outputs=2 inputs=1 kept_outputs=1 kept_inputs=1 errors=0( |$)' <<<"$applied"; then
		fail reload-log "'mapping applied' lines: ${applied:-none}"
	elif [[ -z $reloaded ]]; then
		fail reload-log "no 'mapping reloaded' why=SIGHUP after 'mapping applied'"
	else
		pass reload-log
	fi
	if ! bit 17 || ((lvl != 1)) || ! fn 17 || ((fn != 1)); then
		fail reload-kept "after the reload GPIO17 has level ${lvl:-?}, function ${fn:-?} ($qt_reply)"
	elif ((samples == 0 || samples_low || samples_notout)); then
		fail reload-kept "of $samples samples during the reload $samples_low read GPIO17 low and $samples_notout not an output"
	else
		pass reload-kept
	fi
	if [[ $before23 != 'level 0, function 0' ]]; then
		fail reload-new "before the reload GPIO23 had $before23, want level 0, function 0"
	elif wait_bit 23 1 && fn 23 && ((fn == 1)); then
		pass reload-new
	else
		fail reload-new "after the reload GPIO23 has level ${lvl:-?}, function ${fn:-?} ($qt_reply)"
	fi
	next || return 1

	step led-off-reloaded "$step_timeout" || { fail reload-serving "$why"; return 1; }
	if wait_bit 17 0; then pass reload-serving; else fail reload-serving "GPLEV0 bit 17 still ${lvl:-?} after ${level_timeout}s ($qt_reply)"; fi
	next || return 1

	step button-again "$step_timeout" || { fail reload-input "$why"; return 1; }
	local want='/button i 0, /button i 1, /button i 0' # the state at start (report_at_start), a press, a release
	if ! qt writel "$GPSET0" 0x08000000; then
		fail reload-input "qtest writel GPSET0: $qt_reply"
	elif ! wait_buttons "$want, /button i 1"; then
		fail reload-input "after GPIO27 went high the dump has: ${seen:-nothing}"
	elif ! qt writel "$GPCLR0" 0x08000000; then
		fail reload-input "qtest writel GPCLR0: $qt_reply"
	elif ! wait_buttons "$want, /button i 1, /button i 0"; then
		fail reload-input "after GPIO27 went low the dump has: ${seen:-nothing}"
	else
		pass reload-input
	fi
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	next || return 1

	step refused "$step_timeout" || { fail refused-log "$why"; return 1; }
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	local refused
	refused=$(bridge_lines | grep -F 'msg="reload refused: the mapping has errors; the running mapping stays"' || true)
	applied=$(bridge_lines | grep -cF 'msg="mapping applied"' || true)
	if ! has_line 'RELOAD refused'; then
		fail refused-log "the guest saw: $(grep -a '^RELOAD ' "$con" | tail -n 1 | tr -d '\r')"
	elif ! grep -qE 'why=SIGHUP err="/etc/oscgpio\.yaml:[0-9]+:[0-9]+: .*GPIO99' <<<"$refused"; then
		fail refused-log "no refusal naming /etc/oscgpio.yaml:LINE:COL and GPIO99; lines: ${refused:-none}"
	elif [[ $applied != 1 ]]; then
		fail refused-log "'mapping applied' logged $applied times, want 1 (the first reload only)"
	else
		pass refused-log
	fi
	next || return 1

	step light-on "$step_timeout" || { fail refused-kept "$why"; return 1; }
	if ! wait_bit 17 1; then
		fail refused-kept "GPLEV0 bit 17 still ${lvl:-?} after ${level_timeout}s of /light 1 ($qt_reply)"
	elif ! bit 23 || ((lvl != 1)) || ! fn 23 || ((fn != 1)); then
		fail refused-kept "GPIO23 has level ${lvl:-?}, function ${fn:-?} ($qt_reply)"
	else
		pass refused-kept
	fi
	next || return 1

	step stopped "$step_timeout" || { fail exit-code "$why"; return 1; }
	local st
	st=$(awk '{ sub(/\r$/, "") } /^BRIDGE EXIT / { print $3 }' "$con")
	if [[ $st == code=0 ]]; then pass exit-code; else fail exit-code "the guest saw ${st:-no exit}"; fi
	local l17='?' l23='?' f17='?' f23='?'
	bit 17 && l17=$lvl
	bit 23 && l23=$lvl
	if [[ $l17 == 0 && $l23 == 0 ]]; then pass safe-level; else fail safe-level "GPLEV0 bit 17 is $l17, bit 23 $l23 ($qt_reply)"; fi
	fn 17 && f17=$fn
	fn 23 && f23=$fn
	log "after the exit GPIO17's function is $f17, GPIO23's $f23 (0 input, 1 output)"
	if [[ $f17 == 0 && $f23 == 0 ]]; then pass stop-released; else fail stop-released "GPIO17's function is $f17, GPIO23's $f23 (0 input, 1 output)"; fi
	local summary
	summary=$(bridge_lines | grep -F 'msg="oscgpio stopped"' || true)
	if grep -qE ' reloads=1( |$)' <<<"$summary"; then pass reload-count; else fail reload-count "exit summary: ${summary:-none}"; fi

	local polls
	polls=$(bridge_lines | grep -i 'poll' | grep -E 'GPIO27|button' || true)
	if [[ -n $polls && $(wc -l <<<"$polls") == 1 ]]; then pass poll-once; else fail poll-once "lines: ${polls:-none}"; fi

	# Drivers: periph's own view in the guest (HOSTINIT lines) against the bridge's log.
	local failed=() d o bad=''
	mapfile -t failed < <(awk '{ sub(/\r$/, "") } /^HOSTINIT failed / { n = $3; sub(/:$/, "", n); print n }' "$con")
	if ((${#failed[@]} == 0)); then
		bad="periph reported no failed driver in the guest (with the stock DTB bcm283x-gpio is expected to fail)"
	fi
	for d in "${failed[@]}"; do
		local lines
		lines=$(bridge_lines | grep -F -- "$d" || true)
		if [[ -z $lines ]]; then
			bad+="${bad:+; }driver $d failed but the bridge's log does not name it"
			continue
		fi
		for o in "${failed[@]}"; do
			[[ $o != "$d" ]] && grep -qF -- "$o" <<<"$lines" && bad+="${bad:+; }$d and $o share a log line"
		done
	done
	if [[ -z $bad ]]; then pass drivers; else fail drivers "$bad"; fi
	next || return 1

	# kill -9: a second bridge (killMapping: led on GPIO17, relay on GPIO23,
	# active-low) drives both on; the guest sends it SIGKILL, waits until it
	# is reaped and the kernel says its lines are free; the host records what
	# the registers then hold (kill-state) and what the guest wrote meanwhile
	# (kill-written, from the trace between markers 5 and 6). The guest then
	# starts the bridge again with the same mapping (restart-initial).
	step kill-armed "$step_timeout" || { fail kill-armed "$why"; return 1; }
	local l17='?' l23='?' f17='?' f23='?'
	wait_bit 17 1 && l17=$lvl
	bit 23 && l23=$lvl
	fn 17 && f17=$fn
	fn 23 && f23=$fn
	if [[ $l17 == 1 && $f17 == 1 && $l23 == 0 && $f23 == 1 ]]; then
		pass kill-armed
	else
		fail kill-armed "GPIO17 level $l17 function $f17, GPIO23 level $l23 function $f23"
	fi
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	next || return 1

	step killed "$step_timeout" || { fail kill-state "$why"; return 1; }
	mark || { why="qtest cannot write the trace marker: $qt_reply"; return 1; }
	l17='?' l23='?' f17='?' f23='?'
	bit 17 && l17=$lvl
	bit 23 && l23=$lvl
	fn 17 && f17=$fn
	fn 23 && f23=$fn
	local killed
	killed=$(awk '{ sub(/\r$/, "") } /^(KILLED|LINEINFO) / { printf "%s%s", s, $0; s = "; " }' "$con")
	log "after kill -9: GPIO17 level $l17 function $f17, GPIO23 level $l23 function $f23 (0 input, 1 output); $killed"
	if [[ $f17 == 0 && $f23 == 0 && $l17 == 1 && $l23 == 0 ]]; then
		pass kill-state "$killed"
	else
		fail kill-state "GPIO17 level $l17 function $f17, GPIO23 level $l23 function $f23; $killed"
	fi
	next || return 1

	step restarted "$step_timeout" || { fail restart-initial "$why"; return 1; }
	l17='?' l23='?' f17='?' f23='?'
	bit 17 && l17=$lvl
	bit 23 && l23=$lvl
	fn 17 && f17=$fn
	fn 23 && f23=$fn
	local restarted
	restarted=$(grep -a -m1 '^RESTARTED ' "$con" | tr -d '\r')
	if [[ $l17 == 0 && $f17 == 1 && $l23 == 1 && $f23 == 1 ]]; then
		pass restart-initial "$restarted"
	else
		fail restart-initial "GPIO17 level $l17 function $f17, GPIO23 level $l23 function $f23; $restarted"
	fi
	next
}

if ! drive; then
	# The guest powers off by itself after an abort; if it is stuck, don't
	# wait for the whole QEMU timeout.
	end=$((SECONDS + 30))
	while kill -0 "$qpid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
	kill "$qpid" 2>/dev/null || true
fi
# Wait for the guest to power off (QEMU exits); `timeout` bounds it.
qrc=0
wait "$qpid" || qrc=$?
qpid=''
# The MMIO trace is complete once QEMU has exited.
# Markers 1-4 frame the reloads (reload-unwritten), 5-6 the kill (kill-written).
trace_checks=()
((marks >= 4)) && trace_checks+=(reload-unwritten)
((marks >= 6)) && trace_checks+=(kill-written)
trace_bad=''
if [[ -n $trace_missing ]]; then
	trace_bad=$trace_missing
elif ((marks >= 4)) && [[ ! -s $run/mmio.log ]]; then
	trace_bad="QEMU wrote no trace to $run/mmio.log"
elif ((marks >= 4)); then
	markers=$(awk '$3 == -1 && $7 == "0x3f20001c" && $9 == "0x0"' "$run/mmio.log" | wc -l)
	((markers == marks)) || trace_bad="the trace has $markers of the $marks markers the host wrote"
fi
for c in "${trace_checks[@]}"; do
	[[ -z $trace_bad ]] || fail "$c" "$trace_bad"
done
if [[ -z $trace_bad ]] && ((marks >= 4)); then
	w1=() w2=() w3=() bad='' new23=0 other3='' sel17='' sel23=''
	while read -r w a v; do
		case $w in
		1) w1+=("$a=$v") ;;
		2) w2+=("$a=$v") ;;
		3) w3+=("$a=$v") ;;
		esac
		case $w:$a in
		1:0x3f200004) bad+="${bad:+; }GPFSEL1 written ($v)" ;;
		1:0x3f20001c | 1:0x3f200028) (((v >> 17) & 1)) && bad+="${bad:+; }$a written with bit 17 ($v)" ;;
		3:0x3f200004) sel17+="${sel17:+ }$(((v >> 21) & 7))" ;; # GPIO17's function
		3:0x3f200008) sel23+="${sel23:+ }$(((v >> 9) & 7))" ;;  # GPIO23's function
		3:*) other3+="${other3:+; }$a=$v" ;;
		esac
		[[ $w:$a == 1:0x3f200008 ]] && new23=$((new23 | 1))
		[[ $w:$a == 1:0x3f20001c ]] && (((v >> 23) & 1)) && new23=$((new23 | 2))
	done < <(trace_writes)
	log "MMIO trace: the reload wrote ${w1[*]:-nothing}; the refused reload wrote ${w2[*]:-nothing}; around the kill the guest wrote ${w3[*]:-nothing}"
	if [[ -n $bad ]]; then
		fail reload-unwritten "the reload wrote GPIO17: $bad"
	elif ((new23 != 3)); then
		fail reload-unwritten "the trace shows no GPFSEL2 write and GPSET0 bit 23 for the new GPIO23: it may not be complete"
	elif ((${#w2[@]})); then
		fail reload-unwritten "the refused reload wrote ${w2[*]}"
	else
		pass reload-unwritten
	fi
	if ((marks >= 6)); then
		if [[ -n $other3 ]]; then
			fail kill-written "other writes: $other3 (all: ${w3[*]})"
		elif [[ ! $sel17 =~ ^0( 0)*$ || ! $sel23 =~ ^0( 0)*$ ]]; then
			fail kill-written "GPIO17's function written: ${sel17:-never}, GPIO23's: ${sel23:-never} (all: ${w3[*]:-nothing})"
		else
			pass kill-written "${w3[*]}"
		fi
	fi
fi
if [[ -z ${result[poweroff]:-} ]]; then
	if ((qrc == 0)) && has_line 'GUEST DONE'; then
		pass poweroff
	elif ((qrc == 124)); then
		fail poweroff "QEMU still running after ${qemu_timeout}s; killed"
	else
		fail poweroff "QEMU exit status $qrc; guest done: $(has_line 'GUEST DONE' && echo yes || echo no)"
	fi
fi
for c in "${checks[@]}"; do
	[[ -n ${result[$c]:-} ]] || fail "$c" "not reached${why:+ ($why)}"
done

echo "--- bridge log (bridge:err|/bridge:out| lines of $con)"
bridge_lines
if ((nfail)); then
	echo "--- console log, last 60 lines ($con; QEMU's stderr in $run/qemu.err)"
	tail -n 60 "$con" | tr -d '\r'
	finish 1
fi
finish 0
