#!/usr/bin/env bash
# tools/vm/each-kernel.sh — the VM integration tier on each Debian 12 kernel
# hftmon supports: 6.1 and 6.12, generic and PREEMPT_RT.
#
# Usage: tools/vm/each-kernel.sh [ABI[=PARTS]...]
#   With no argument: every kernel `vm.sh debian-kernels` names (all four
#   must be installed: make deps), the default (linux-image-amd64's) first,
#   each with its three boots ("main loop onenode"). Measured on a 2-core
#   host under nice 5: the main boot (the integration programs) 50-70 s,
#   the loop boot (20 load/unload cycles, single-threaded TCG) 10-13 s,
#   the onenode boot (the NUMA programs on one node) about 20 s, a kernel
#   64-86 s with its module builds, the four 5 min: cheap enough that every
#   kernel runs everything (text patching and module loading differ on
#   PREEMPT_RT and 6.12 too).
#   ABI=PARTS picks the boots for one kernel (e.g. 6.1.0-57-rt-amd64=main).
#   Every kernel runs every test of the kernel's behaviour; the tests of
#   user space over the library alone (USERSPACE_TESTS: the Python
#   binding, recording files, the examples: no kernel difference reaches
#   them that the other tests do not see first) run on the first kernel
#   only, which saves about a minute a kernel.
#
# For each kernel: `make test-vm KVER=ABI VM_PARTS=PARTS`, which builds
# hftmon.ko and the control module against /usr/src/linux-headers-ABI and
# boots /boot/vmlinuz-ABI. Every kernel runs even when one fails. The end
# is one line per kernel, "test-vm: ABI (META, boots): RESULT", RESULT being
# the tier's "vm: N passed, M failed, K skipped" or why there is none, then
# "test-vm-kernels: N of M kernels passed". Exit 1 if any kernel failed or
# is not installed.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
make=${MAKE:-make}

declare -A parts=() meta=()
order=()
while read -r abi m; do
	[[ -n $abi ]] || continue
	if [[ $abi == - ]]; then
		order+=("-$m")
		continue
	fi
	meta[$abi]=$m
	parts[$abi]="main loop onenode"
	order+=("$abi")
done < <("$top/tools/vm/vm.sh" debian-kernels 2>/dev/null)

if (($#)); then
	order=()
	for arg in "$@"; do
		abi=${arg%%=*}
		[[ $arg == *=* ]] && parts[$abi]=${arg#*=}
		[[ -n ${parts[$abi]:-} ]] || parts[$abi]="main loop onenode"
		order+=("$abi")
	done
fi

USERSPACE_TESTS="t_python.sh t_cli_file.sh t_examples.sh"
first=""

work=$(mktemp -d "${TMPDIR:-/tmp}/hftmon-kernels.XXXXXX")
trap 'rm -rf "$work"' EXIT
summary=() npass=0 status=0
for abi in "${order[@]}"; do
	if [[ $abi == -* ]]; then
		summary+=("test-vm: ${abi#-} is not installed (make deps): FAILED")
		status=1
		continue
	fi
	what="${meta[$abi]:-given}, ${parts[$abi]}"
	echo "===== test-vm on $abi ($what)"
	start=$SECONDS
	out=$work/$abi.out
	drop=""
	if [[ -z $first ]]; then
		first=$abi
	else
		drop=$USERSPACE_TESTS
		what="$what, without $USERSPACE_TESTS (run on $first)"
	fi
	"$make" -C "$top" --no-print-directory test-vm KVER="$abi" \
		VM_PARTS="${parts[$abi]}" VM_DROP="$drop" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	took=$((SECONDS - start))
	result=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	result=${result% (*}	# its "(kernel: boots)" is on this line already
	if [[ -z $result ]]; then
		if grep -qE 'hftmon(_ctl)?\.ko\] Error|^make.*modules\] Error|error:' "$out"; then
			result="the module did not build against /usr/src/linux-headers-$abi"
		else
			result="no result (make exit $rc; see above)"
		fi
	fi
	if ((rc == 0)); then
		npass=$((npass + 1))
		summary+=("test-vm: $abi ($what): $result, ${took}s: ok")
	else
		summary+=("test-vm: $abi ($what): $result, ${took}s: FAILED")
		status=1
	fi
done
echo "===== test-vm per kernel"
printf '%s\n' "${summary[@]}"
echo "test-vm-kernels: $npass of ${#order[@]} kernels passed"
exit $status
