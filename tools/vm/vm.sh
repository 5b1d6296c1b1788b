#!/usr/bin/env bash
# tools/vm/vm.sh — the one place that builds an initramfs and boots qemu.
#
# Used by the KUnit runner, the VM integration tests, the demo and the
# benchmark. Subcommands:
#
#   vm.sh run --kernel BZIMAGE --payload DIR --script REL_PATH
#             [--timeout SEC] [--log FILE] [--cmdline EXTRA]
#             [--smp N] [--mem SIZE] [--numa-nodes 1|2] [--cpu MODEL]
#             [--splat-ignore ERE] [--boot auto|pvh|bzimage]
#             [--tcg-threads multi|single] [--arch x86_64|arm64]
#       Builds a gzip'ed cpio initramfs (in a temp dir, removed afterwards)
#       holding busybox-static with all its applet symlinks, /etc/passwd
#       (root, plus "user" uid/gid 1000 and "nobody" for permission tests),
#       an /init, and a copy of DIR at /hftmon (--payload may be repeated;
#       later dirs are copied over earlier ones). Boots it with
#         qemu-system-x86_64 -accel tcg -bios qboot.rom -smp 2 -m 1G
#       and two NUMA nodes (memory split evenly; CPUs split in halves:
#       with -smp 2, cpu0 on node0 and cpu1 on node1), -nographic,
#       -no-reboot, no network, no disk, one socket per vCPU (so no LLC is
#       shared across nodes: that would be a boot-time WARNING), kernel
#       command line "console=ttyS0 panic=-1 log_buf_len=4M tsc=reliable
#       EXTRA" (tsc=reliable: under TCG the kernel finds the vCPUs' TSCs
#       "unsynchronized" and falls back to the emulated HPET, where every
#       CLOCK_MONOTONIC read is an emulated MMIO access; a trading host's
#       clocksource is the TSC) (no
#       oops=panic: oopses are found in dmesg instead).
#       --tcg-threads single runs every vCPU in one host thread (default
#       multi: one each). Multi-threaded TCG can wedge a guest that patches
#       kernel text: a vCPU kept trapping on an int3 at an address whose
#       bytes already read back as the restored jump (a stale translation,
#       by the look of it), with IRQs off, while the patching CPU waited
#       for it in text_poke_bp()'s sync IPI (seen about once in 1,500
#       tracepoint register/unregister cycles). Tests that patch text in a
#       loop use single; the rest keep real concurrency.
#       --boot auto (default; env HFTMON_VM_BOOT): when the bzImage has a
#       PVH entry (Debian's has, CONFIG_PVH), boot its uncompressed vmlinux,
#       extracted once and cached in $HFTMON_CACHE/vmlinux: that skips the
#       in-guest xz decompression (~3.5 s of the ~6.5 s under TCG). Same
#       kernel, same behaviour. Otherwise the bzImage is booted.
#       The guest /init mounts proc, sysfs, devtmpfs, tmpfs (/tmp, /run,
#       /dev/shm), tracefs (/sys/kernel/tracing) and debugfs, prints
#       "HFTMON-VM-START", runs /hftmon/REL_PATH with cwd /hftmon, stdin
#       /dev/null and HFTMON_VM=1 in its environment (directly if
#       executable, else with sh), then greps dmesg
#       for kernel splats (BUG:|WARNING:|Oops|lockdep|INFO: possible|
#       general protection|Call Trace; minus known-benign lines such as
#       "RCU lockdep checking is enabled" and any --splat-ignore ERE, which
#       may be repeated) and prints any as
#       "HFTMON-VM-SPLAT: <line>", then prints "HFTMON-VM-EXIT=<rc>"
#       (rc = the script's exit status, or 99 if the script passed but dmesg
#       shows a splat) and does `reboot -f` (which, with -no-reboot, ends
#       qemu).
#       The serial console is streamed, CRs stripped, to stdout and to
#       --log FILE.
#       --arch arm64 (default: env HFTMON_VM_ARCH, else x86_64) boots
#       Debian's arm64 kernel Image instead, with an arm64 busybox, as
#         qemu-system-aarch64 -M virt -cpu max -icount shift=0 -smp 2 -m 1G
#       (same NUMA split, console ttyAMA0, no BIOS, no PVH). -cpu max has
#       the PMUv3 QEMU emulates; -icount shift=0 makes INST_RETIRED exact
#       (one instruction per virtual ns) and runs every vCPU in one host
#       thread (--tcg-threads is ignored there).
#       Exit status: the guest's rc; 124 on timeout (default
#       600 s; qemu is killed); 125 if the marker line is missing (kernel
#       panic, qemu failure, ...); 2 on usage errors.
#
#   vm.sh extract [LOG]
#       Prints the guest's test output from a console log (file or stdin):
#       every line after the kernel's "Run /init" line (or, if the kernel
#       was told to be quiet, after "HFTMON-VM-START"), up to but not
#       including the "HFTMON-VM-EXIT=" marker. Needed by the KUnit runner:
#       a CONFIG_KUNIT=y kernel prints an empty "1..0" KTAP plan at boot.
#       Exit 1 if the start line is not found.
#
#   vm.sh initramfs --payload DIR --script REL_PATH --out FILE.cpio.gz
#       Only builds the initramfs (for debugging or for booting by hand).
#
#   vm.sh debian-abi [META]     prints the ABI (e.g. 6.1.0-57-amd64) of the
#                           kernel image META (default linux-image-amd64, the
#                           kernel the VM boots) depends on, as dpkg says
#   vm.sh debian-kernel [META]  prints /boot/vmlinuz-<abi> of that kernel
#   vm.sh debian-headers [META] prints /usr/src/linux-headers-<abi> for it (build
#                           the module with `make -C "$(vm.sh debian-headers)"
#                           M=...`). Never hard-code the ABI: Debian bumps it
#                           with security updates.
#       All three exit 1 if META or the file is missing (run tools/vm/deps.sh).
#   vm.sh debian-kernels    one line "ABI META" for each Debian 12 kernel hftmon
#                           supports (6.1 and 6.12, generic and PREEMPT_RT), the
#                           default first; "- META" and exit 1 for one missing.
#
# Environment: QEMU (default qemu-system-x86_64; qemu-system-aarch64 for
# arm64), QEMU_BIOS (default /usr/share/qemu/qboot.rom; set empty for
# SeaBIOS; x86 only), BUSYBOX (default /bin/busybox; for arm64 the one
# tools/vm/arm64-cache.sh unpacked; must be static), HFTMON_VM_ARCH.
set -euo pipefail

readonly EXIT_MARKER=HFTMON-VM-EXIT
readonly START_MARKER=HFTMON-VM-START
ARCH=${HFTMON_VM_ARCH:-x86_64}
# dmesg lines that match the splat pattern but are not splats (boot banners
# of debug kernels). Extended with --splat-ignore.
SPLAT_IGNORE='RCU lockdep checking is enabled'

prog=${0##*/}
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

# The guest's /init. @SCRIPT@ is replaced by the payload-relative path.
# shellcheck disable=SC2016  # guest-side variables, expanded in the guest
INIT_TEMPLATE='#!/bin/sh
# hftmon test VM /init (generated by tools/vm/vm.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
chown 1000:1000 /home/user
hostname hftmon-vm
export HFTMON_VM=1
echo "HFTMON-VM-START"
cd /hftmon
script=@SCRIPT@
if [ -x "$script" ]; then
	"./$script" </dev/null
else
	sh "./$script" </dev/null
fi
rc=$?
cd /
splat_ignore=@IGNORE@
dmesg | grep -E "BUG:|WARNING:|Oops|lockdep|INFO: possible|general protection|Call Trace" |
	grep -vE "$splat_ignore" >/tmp/.splat
if [ -s /tmp/.splat ]; then
	echo "HFTMON-VM: kernel splat found in dmesg:"
	sed "s/^/HFTMON-VM-SPLAT: /" /tmp/.splat
	[ "$rc" -eq 0 ] && rc=99
fi
echo "HFTMON-VM-EXIT=$rc"
sync
reboot -f
'

# build_initramfs WORKDIR OUT SCRIPT PAYLOAD... (WORKDIR: scratch, caller cleans)
build_initramfs() {
	local root=$1/root out=$2 script=$3
	shift 3
	local dir
	[[ -x $BUSYBOX ]] || die "$BUSYBOX missing (run tools/vm/deps.sh)"
	if ! file_is_static "$BUSYBOX"; then
		die "$BUSYBOX is not statically linked (install busybox-static)"
	fi
	local tool
	for tool in cpio gzip python3 readelf; do
		command -v "$tool" >/dev/null || die "$tool missing (run tools/vm/deps.sh)"
	done
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc,home/user,hftmon}
	chmod 1777 "$root/tmp"
	cp "$BUSYBOX" "$root/bin/busybox"
	# One process for the ~270 applet symlinks (a fork per link costs seconds).
	"$BUSYBOX_LIST" --list-full | python3 -c '
import os, sys
root = sys.argv[1]
for app in sys.stdin.read().split():
    path = os.path.join(root, app)
    if app == "bin/busybox" or os.path.lexists(path):
        continue
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink("/bin/busybox", path)
' "$root"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'user:x:1000:1000:user:/home/user:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
	local init=${INIT_TEMPLATE//@SCRIPT@/$(sh_quote "$script")}
	init=${init//@IGNORE@/$(sh_quote "$SPLAT_IGNORE")}
	printf '%s\n' "$init" >"$root/init"
	chmod 755 "$root/init"
	for dir in "$@"; do
		[[ -d $dir ]] || die "payload $dir is not a directory"
		cp -a "$dir/." "$root/hftmon/"
	done
	[[ -e $root/hftmon/$script ]] || die "script $script not found in the payload"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out"
}

file_is_static() {
	# ELF with no PT_INTERP program header = static.
	! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'INTERP'
}

sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# to_mib SIZE: 1G, 1024M, 1024 (MiB) -> MiB
to_mib() {
	local s=${1^^}
	case $s in
	*G) echo $((${s%G} * 1024)) ;;
	*M) echo "${s%M}" ;;
	*[0-9]) echo "$s" ;;
	*) die "bad memory size: $1" ;;
	esac
}

# set_arch: QEMU, QEMU_BIOS and BUSYBOX for $ARCH, unless the environment
# names them. BUSYBOX_LIST: a busybox this host runs, which lists the
# applets: for arm64 the host's own, of the same Debian package version
# (the same applets) when it is, else the guest's cannot be listed here.
set_arch() {
	case $ARCH in
	x86_64)
		QEMU=${QEMU:-qemu-system-x86_64}
		QEMU_BIOS=${QEMU_BIOS-/usr/share/qemu/qboot.rom}
		BUSYBOX=${BUSYBOX:-/bin/busybox}
		BUSYBOX_LIST=$BUSYBOX
		;;
	arm64)
		QEMU=${QEMU:-qemu-system-aarch64}
		if [[ -z ${BUSYBOX:-} ]]; then
			local dir
			dir=$("$(dirname "$0")/arm64-cache.sh" --dir) ||
				die "no arm64 busybox (run tools/vm/deps.sh)"
			BUSYBOX=$dir/bin/busybox
		fi
		BUSYBOX_LIST=/bin/busybox
		[[ $(busybox_version "$BUSYBOX") == "$(busybox_version /bin/busybox)" ]] ||
			die "$BUSYBOX and /bin/busybox differ in version: cannot list the guest's applets"
		;;
	*) die "--arch: x86_64 or arm64, not $ARCH" ;;
	esac
}

# busybox_version FILE: the "BusyBox v1.35.0 (...)" banner inside the binary.
busybox_version() {
	grep -ao 'BusyBox v[0-9][^ ]* ([^)]*)' "$1" | head -n 1
}

extract() {
	awk -v start="$START_MARKER" -v exit_marker="$EXIT_MARKER=" '
		!on && (/Run \/init/ || index($0, start) == 1) { on = 1; next }
		on && index($0, exit_marker) { exit }
		on && $0 == start { next }
		on { print }
		END { if (!on) exit 1 }
	' "$@"
}

# pvh_image BZIMAGE: print the path of an uncompressed vmlinux with a PVH
# entry note extracted from BZIMAGE (cached under $HFTMON_CACHE/vmlinux,
# keyed on the image's path, size and mtime), or nothing if BZIMAGE has no
# PVH entry or a compression python cannot undo. Booting that ELF directly
# (qemu's PVH loader) skips the in-guest decompression, which under TCG
# takes ~3.5 s for Debian's xz-compressed kernel.
pvh_image() {
	local image=$1 cache key
	cache=${HFTMON_CACHE:-$HOME/.cache/hftmon}/vmlinux
	key=$(stat -L -c '%s %Y' "$image")
	key=$(printf '%s %s\n' "$(readlink -f "$image")" "$key" | sha256sum | cut -c1-16)
	if [[ -f $cache/$key.elf ]]; then
		printf '%s\n' "$cache/$key.elf"
		return
	fi
	[[ -f $cache/$key.none ]] && return
	mkdir -p "$cache"
	local tmp
	tmp=$(mktemp "$cache/.$key.XXXXXX")
	if python3 - "$image" "$tmp" <<'PY' 2>/dev/null &&
import bz2, lzma, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:4] == b"\x7fELF":
    sys.exit(1)                                   # already an ELF: use as is
if data[0x202:0x206] != b"HdrS":
    sys.exit(1)
setup_sects = data[0x1f1] or 4
offset, length = struct.unpack_from("<II", data, 0x248)
payload = data[(setup_sects + 1) * 512 + offset:][:length]
if payload[:2] == b"\x1f\x8b":
    out = zlib.decompressobj(31).decompress(payload)
elif payload[:6] == b"\xfd7zXZ\x00":
    out = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(payload)
elif payload[:3] == b"BZh":
    out = bz2.BZ2Decompressor().decompress(payload)
elif payload[:3] == b"\x5d\x00\x00":
    out = lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(payload)
else:
    sys.exit(1)                                   # zstd, lz4, lzo: not in stdlib
if out[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(out)
PY
		LC_ALL=C readelf -n "$tmp" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'; then
		chmod 644 "$tmp"
		mv "$tmp" "$cache/$key.elf"
		printf '%s\n' "$cache/$key.elf"
	else
		rm -f "$tmp"
		: >"$cache/$key.none"
	fi
}

cmd_run() {
	local kernel="" script="" timeout=600 log="" cmdline="" smp=2 mem=1G
	local nodes=2 cpu="" payloads=() boot=${HFTMON_VM_BOOT:-auto} tcg=multi
	while (($#)); do
		case $1 in
		--kernel) kernel=${2:?}; shift 2 ;;
		--payload) payloads+=("${2:?}"); shift 2 ;;
		--script) script=${2:?}; shift 2 ;;
		--timeout) timeout=${2:?}; shift 2 ;;
		--log) log=${2:?}; shift 2 ;;
		--cmdline) cmdline=${2?}; shift 2 ;;
		--smp) smp=${2:?}; shift 2 ;;
		--mem) mem=${2:?}; shift 2 ;;
		--numa-nodes) nodes=${2:?}; shift 2 ;;
		--cpu) cpu=${2:?}; shift 2 ;;
		--splat-ignore) SPLAT_IGNORE+="|${2:?}"; shift 2 ;;
		--boot) boot=${2:?}; shift 2 ;;
		--tcg-threads) tcg=${2:?}; shift 2 ;;
		--arch) ARCH=${2:?}; shift 2 ;;
		-h | --help) usage ;;
		*) die "unknown option $1 (see $0 --help)" ;;
		esac
	done
	set_arch
	[[ -n $kernel && -n $script && ${#payloads[@]} -gt 0 ]] ||
		die "run needs --kernel, --payload and --script"
	[[ -r $kernel ]] || die "kernel $kernel not readable"
	[[ $timeout =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ && $smp -ge 1 ]] ||
		die "bad --timeout or --smp"
	[[ $nodes == 1 || $nodes == 2 ]] || die "--numa-nodes must be 1 or 2"
	[[ $boot == auto || $boot == pvh || $boot == bzimage ]] ||
		die "--boot must be auto, pvh or bzimage"
	command -v "$QEMU" >/dev/null || die "$QEMU missing (run tools/vm/deps.sh)"
	[[ $ARCH == x86_64 ]] || boot=bzimage	# PVH is x86's

	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/hftmon-vm.XXXXXX")
	# shellcheck disable=SC2064  # expand $work now
	trap "rm -rf '$work'" EXIT
	build_initramfs "$work" "$work/initramfs.cpio.gz" "$script" "${payloads[@]}"
	[[ -n $log ]] || log="$work/console.log"
	: >"$log"

	local image=$kernel
	if [[ $boot != bzimage ]]; then
		local elf
		elf=$(pvh_image "$kernel" 2>/dev/null) || elf="" # e.g. cache not writable
		if [[ -n $elf ]]; then
			image=$elf
		elif [[ $boot == pvh ]]; then
			die "$kernel: no PVH entry point to boot (use --boot bzimage)"
		fi
	fi

	local mib
	mib=$(to_mib "$mem")
	[[ $tcg == single || $tcg == multi ]] || die "--tcg-threads: single or multi, not $tcg"
	local console=ttyS0 extra=" tsc=reliable"
	if [[ $ARCH == arm64 ]]; then
		tcg=single console=ttyAMA0 extra=""
	fi
	local args=(-accel "tcg,thread=$tcg" -m "${mib}M"
		-smp "$smp,sockets=$smp,cores=1,threads=1"
		-nodefaults -no-user-config -nographic -no-reboot
		-serial stdio -monitor none -nic none
		-kernel "$image" -initrd "$work/initramfs.cpio.gz"
		-append "console=$console panic=-1 log_buf_len=4M$extra${cmdline:+ $cmdline}")
	if [[ $ARCH == arm64 ]]; then
		args+=(-M virt -icount shift=0)
		[[ -n $cpu ]] || cpu=max,pauth-impdef=on
	elif [[ -n $QEMU_BIOS ]]; then
		args+=(-bios "$QEMU_BIOS")
	fi
	[[ -n $cpu ]] && args+=(-cpu "$cpu")
	if [[ $nodes == 2 ]]; then
		local m0=$((mib / 2)) half=$((smp / 2))
		local m1=$((mib - m0))
		args+=(-object "memory-backend-ram,id=mem0,size=${m0}M"
			-object "memory-backend-ram,id=mem1,size=${m1}M")
		if ((smp == 1)); then
			args+=(-numa "node,nodeid=0,cpus=0,memdev=mem0"
				-numa "node,nodeid=1,memdev=mem1")
		else
			args+=(-numa "node,nodeid=0,cpus=0-$((half - 1)),memdev=mem0"
				-numa "node,nodeid=1,cpus=$half-$((smp - 1)),memdev=mem1")
		fi
	fi

	local qrc
	set +e
	timeout -k 5 "$timeout" "$QEMU" "${args[@]}" </dev/null |
		sed -u -e 's/\r//g' | tee -a "$log"
	qrc=${PIPESTATUS[0]}
	set -e
	if ((qrc == 124 || qrc == 137)); then
		note "timeout: guest did not finish in ${timeout}s (qemu killed)"
		return 124
	fi
	local marker
	marker=$(grep -ao "$EXIT_MARKER=[0-9][0-9]*" "$log" | tail -n 1 || true)
	if [[ -z $marker ]]; then
		note "no $EXIT_MARKER line: guest crashed or qemu failed (qemu rc $qrc)"
		return 125
	fi
	return "${marker#*=}"
}

cmd_initramfs() {
	local script="" out="" payloads=()
	while (($#)); do
		case $1 in
		--payload) payloads+=("${2:?}"); shift 2 ;;
		--script) script=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		--arch) ARCH=${2:?}; shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	set_arch
	[[ -n $script && -n $out && ${#payloads[@]} -gt 0 ]] ||
		die "initramfs needs --payload, --script and --out"
	local work
	work=$(mktemp -d "${TMPDIR:-/tmp}/hftmon-vm.XXXXXX")
	# shellcheck disable=SC2064  # expand $work now
	trap "rm -rf '$work'" EXIT
	build_initramfs "$work" "$out" "$script" "${payloads[@]}"
}

# The metapackages of the Debian 12 kernels hftmon supports, the default
# (the one the VM boots unless told) first.
readonly DEBIAN_KERNEL_METAS="linux-image-amd64 linux-image-rt-amd64 linux-image-6.12-amd64 linux-image-6.12-rt-amd64"

# debian_abi [META]: the ABI (e.g. 6.1.0-57-amd64) of the image META
# (default linux-image-amd64) depends on, from dpkg. Never the newest
# installed image by version: with 6.12 or -rt images installed that is
# not the kernel linux-image-amd64 stands for.
debian_abi() {
	local meta=${1:-linux-image-amd64} dep
	dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null || true)
	dep=${dep%%[ ,|]*}
	if [[ $dep != linux-image-* ]]; then
		note "$meta is not installed (run tools/vm/deps.sh)"
		return 1
	fi
	printf '%s\n' "${dep#linux-image-}"
}

cmd_debian_path() {
	local abi path
	abi=$(debian_abi "${2:-}") || exit 1
	case $1 in
	kernel) path=/boot/vmlinuz-$abi ;;
	headers) path=/usr/src/linux-headers-$abi ;;
	abi) printf '%s\n' "$abi"; return ;;
	esac
	[[ -e $path ]] || { note "$path missing (run tools/vm/deps.sh)"; exit 1; }
	printf '%s\n' "$path"
}

# One line per supported kernel: "ABI META"; exit 1 if one is not installed
# (its line then reads "- META").
cmd_debian_kernels() {
	local meta abi rc=0
	for meta in $DEBIAN_KERNEL_METAS; do
		if abi=$(debian_abi "$meta" 2>/dev/null); then
			printf '%s %s\n' "$abi" "$meta"
		else
			printf -- '- %s\n' "$meta"
			rc=1
		fi
	done
	return $rc
}

main() {
	(($#)) || usage
	local cmd=$1
	shift
	case $cmd in
	run) cmd_run "$@" ;;
	extract) extract "$@" ;;
	initramfs) cmd_initramfs "$@" ;;
	debian-kernel) cmd_debian_path kernel "$@" ;;
	debian-headers) cmd_debian_path headers "$@" ;;
	debian-abi) cmd_debian_path abi "$@" ;;
	debian-kernels) cmd_debian_kernels ;;
	-h | --help | help) usage ;;
	*) die "unknown subcommand $cmd" ;;
	esac
}

main "$@"
