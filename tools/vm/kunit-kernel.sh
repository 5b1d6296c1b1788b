#!/usr/bin/env bash
# tools/vm/kunit-kernel.sh — build (once) and cache a small x86_64 KUnit kernel.
#
# Usage:
#   tools/vm/kunit-kernel.sh            # prints the cached build tree's path
#   HFTMON_KASAN=1 tools/vm/kunit-kernel.sh   # same, with KASAN (own cache key)
#   HFTMON_GCOV=1 tools/vm/kunit-kernel.sh    # same, with CONFIG_GCOV_KERNEL
#                                  (own cache key; for make coverage-kmod)
#
# What it does:
#   Unpacks Debian's /usr/src/linux-source-6.1.tar.xz, configures it with
#   `allnoconfig` + tiny-base.config + the fragment below (KUnit, modules,
#   SMP, NUMA with ACPI SRAT so qemu's -numa nodes are seen, PREEMPT,
#   tracepoints/ftrace, perf events, lockdep, atomic-sleep checks, ...),
#   runs `olddefconfig`, verifies
#   that every required option survived, builds it (`make -j$(nproc)`) and
#   runs `make modules_prepare`, so out-of-tree modules build with
#   `make -C <tree> M=<dir>`.
#
#   The tree is cached OUTSIDE the repo in
#     ${HFTMON_CACHE:-$HOME/.cache/hftmon}/kunit-<key>
#   where <key> = linux-source package version + a hash of the config
#   fragment (and KASAN flag, gcc version, recipe version). A tree is used
#   only if it holds the stamp file .hftmon-kunit-complete, written last;
#   builds run under an flock (concurrent callers build once, the others
#   wait), and a builder first removes any stamp-less leftover of an
#   interrupted build (or removes its own tree if it fails). The tree is
#   built in place rather than in a temp dir renamed at the end, because
#   kbuild bakes absolute paths into tools/objtool: a renamed tree rebuilds
#   objtool and then every object on the next `make` in it.
#
# Output:
#   stdout: exactly one line, the absolute path of the build tree
#           (bzImage: <tree>/arch/x86/boot/bzImage).
#   stderr: progress; the tail of the build log on failure
#           (full log: <cache>/kunit-<key>.log).
#   exit 0 on success, non-zero on any failure (missing package, option
#   dropped by olddefconfig, build error).
#
# Environment:
#   HFTMON_CACHE   cache root (default $HOME/.cache/hftmon)
#   HFTMON_KASAN   1 = also enable KASAN (generic, inline, vmalloc)
#   HFTMON_GCOV    1 = also enable CONFIG_GCOV_KERNEL (the kernel itself is
#                  not profiled: a module built with GCOV_PROFILE=y is, and
#                  its counters appear under /sys/kernel/debug/gcov)
#   HFTMON_JOBS    make -j value (default: nproc)
#   LINUX_SOURCE_TARBALL  (default /usr/src/linux-source-6.1.tar.xz)
set -euo pipefail

readonly RECIPE_VERSION=2
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CACHE=${HFTMON_CACHE:-$HOME/.cache/hftmon}
KASAN=${HFTMON_KASAN:-0}
GCOV=${HFTMON_GCOV:-0}
JOBS=${HFTMON_JOBS:-$(nproc)}

# Don't let a calling `make` (e.g. `make test V=1 CC=...`) leak its
# command-line variables into the kernel build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

log() { printf 'kunit-kernel: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- configuration -----------------------------------------------------------
# Every line here is REQUIRED to be present verbatim in the final .config.
FRAGMENT='CONFIG_64BIT=y
CONFIG_SMP=y
CONFIG_HOTPLUG_CPU=y
CONFIG_NUMA=y
CONFIG_NUMA_EMU=y
CONFIG_PCI=y
CONFIG_ACPI=y
CONFIG_ACPI_NUMA=y
CONFIG_X86_64_ACPI_NUMA=y
CONFIG_MIGRATION=y
CONFIG_NUMA_BALANCING=y
CONFIG_NUMA_BALANCING_DEFAULT_ENABLED=y
CONFIG_SCHED_MC=y
CONFIG_CPU_ISOLATION=y
CONFIG_X86_PM_TIMER=y
CONFIG_PREEMPT=y
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_KUNIT=y
CONFIG_KUNIT_DEFAULT_ENABLED=y
CONFIG_KUNIT_DEBUGFS=y
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_BUG=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_POSIX_TIMERS=y
CONFIG_EPOLL=y
CONFIG_EVENTFD=y
CONFIG_SIGNALFD=y
CONFIG_TIMERFD=y
CONFIG_SHMEM=y
CONFIG_SYSCTL=y
CONFIG_PROC_SYSCTL=y
CONFIG_PROC_PAGE_MONITOR=y
CONFIG_UNIX98_PTYS=y
CONFIG_TMPFS=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_SERIAL_8250_PNP=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_DEBUG_FS=y
CONFIG_HIGH_RES_TIMERS=y
CONFIG_NO_HZ_IDLE=y
CONFIG_HPET_TIMER=y
CONFIG_PERF_EVENTS=y
CONFIG_FTRACE=y
CONFIG_ENABLE_DEFAULT_TRACERS=y
CONFIG_TRACING=y
CONFIG_EVENT_TRACING=y
CONFIG_TRACEPOINTS=y
CONFIG_KPROBES=y
CONFIG_KRETPROBES=y
CONFIG_USERFAULTFD=y
CONFIG_DEBUG_KERNEL=y
CONFIG_PROVE_LOCKING=y
CONFIG_DEBUG_ATOMIC_SLEEP=y
CONFIG_DEBUG_PREEMPT=y
CONFIG_DEBUG_LIST=y
CONFIG_DEBUG_BUGVERBOSE=y
CONFIG_SCHED_DEBUG=y
CONFIG_SCHED_INFO=y
CONFIG_SCHEDSTATS=y
CONFIG_SLUB_DEBUG=y
CONFIG_KALLSYMS=y
CONFIG_KALLSYMS_ALL=y
CONFIG_STACKTRACE=y
CONFIG_UNWINDER_ORC=y
CONFIG_SLUB=y
CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE=y
CONFIG_KERNEL_GZIP=y'

KASAN_FRAGMENT='CONFIG_KASAN=y
CONFIG_KASAN_GENERIC=y
CONFIG_KASAN_INLINE=y
CONFIG_KASAN_VMALLOC=y'

GCOV_FRAGMENT='CONFIG_GCOV_KERNEL=y'

if [[ $KASAN == 1 ]]; then
	FRAGMENT+=$'\n'"$KASAN_FRAGMENT"
fi
if [[ $GCOV == 1 ]]; then
	FRAGMENT+=$'\n'"$GCOV_FRAGMENT"
fi

# --- cache key ---------------------------------------------------------------
[[ -r $TARBALL ]] || die "$TARBALL missing (run tools/vm/deps.sh)"
for tool in gcc make flex bison bc xz sha256sum flock; do
	command -v "$tool" >/dev/null || die "'$tool' missing (run tools/vm/deps.sh)"
done
SRC_VERSION=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [[ -z $SRC_VERSION ]]; then
	# Not installed through dpkg: key on the tarball's size and mtime.
	SRC_VERSION=$(stat -c '%s-%Y' "$TARBALL")
fi
GCC_VERSION=$(gcc -dumpfullversion)
HASH=$(printf '%s\n' "recipe=$RECIPE_VERSION" "base=allnoconfig+tiny-base" "gcc=$GCC_VERSION" \
	"$FRAGMENT" | sha256sum | cut -c1-12)
KEY="${SRC_VERSION//[^A-Za-z0-9.+-]/_}-$HASH"
[[ $KASAN == 1 ]] && KEY+="-kasan"
[[ $GCOV == 1 ]] && KEY+="-gcov"
FINAL="$CACHE/kunit-$KEY"
STAMP=".hftmon-kunit-complete"

if [[ -f $FINAL/$STAMP ]]; then
	printf '%s\n' "$FINAL"
	exit 0
fi

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
FINAL="$CACHE/kunit-$KEY"
LOCK="$CACHE/kunit-$KEY.lock"
BUILD_LOG="$CACHE/kunit-$KEY.log"

exec 9>"$LOCK"
if ! flock -n 9; then
	log "another process is building $FINAL; waiting for it"
	flock 9
fi
# Someone else may have finished while we waited.
if [[ -f $FINAL/$STAMP ]]; then
	printf '%s\n' "$FINAL"
	exit 0
fi
# We hold the lock and there is no stamp: anything left for this key is an
# interrupted build. It is removed and the tree is rebuilt in place: kbuild
# bakes absolute paths into tools/objtool, so a tree built elsewhere and
# renamed rebuilds objtool and then every object on the next `make`.
rm -rf "$FINAL"
mkdir "$FINAL"

cleanup() { rm -rf "$FINAL"; }
trap cleanup EXIT

start=$(date +%s)
log "building KUnit kernel (key $KEY) in $FINAL; log: $BUILD_LOG"
: >"$BUILD_LOG"
run() {
	# Run a build step, logging to $BUILD_LOG; show the log's tail on failure.
	if ! "$@" >>"$BUILD_LOG" 2>&1; then
		log "FAILED: $*"
		tail -n 60 "$BUILD_LOG" >&2
		exit 1
	fi
}

log "unpacking $TARBALL"
run tar -xJf "$TARBALL" -C "$FINAL" --strip-components=1
cd "$FINAL"

# allnoconfig with the fragment as KCONFIG_ALLCONFIG (what `tinyconfig` does
# with tiny-base.config): every option not asked for is off. (Appending a
# fragment to a tinyconfig and running olddefconfig instead would switch on
# the defaults of every newly visible option: VT, input, cpufreq, ...)
log "configuring (allnoconfig + tiny-base + fragment, then olddefconfig)"
{ cat kernel/configs/tiny-base.config; printf '%s\n' "$FRAGMENT"; } >"$FINAL/.hftmon-allconfig"
run make ARCH=x86_64 KCONFIG_ALLCONFIG="$FINAL/.hftmon-allconfig" allnoconfig
run make ARCH=x86_64 olddefconfig

missing=0
while IFS= read -r opt; do
	[[ -z $opt ]] && continue
	if ! grep -qxF -- "$opt" .config; then
		name=${opt%%=*}
		now=$(grep -E "^($name=|# $name is not set)" .config || echo "absent")
		log "required option dropped by olddefconfig: $opt (now: $now)"
		missing=1
	fi
done <<<"$FRAGMENT"
[[ $missing == 0 ]] || die "unmet Kconfig dependencies; fix the fragment in $0"

log "compiling with make -j$JOBS (this takes a few minutes cold)"
run make ARCH=x86_64 -j"$JOBS"
run make ARCH=x86_64 -j"$JOBS" modules_prepare
[[ -f arch/x86/boot/bzImage ]] || die "no bzImage produced"
[[ -f Module.symvers ]] || die "no Module.symvers produced"

# The stamp is the commit point: readers only use a tree that has it.
date -u +%FT%TZ >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
trap - EXIT
log "built in $(($(date +%s) - start)) s: $FINAL"
printf '%s\n' "$FINAL"
