#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# The mutation harness (make mutate): plants each bug of a mutant list in a
# scratch copy of the tree, one at a time, and runs the tier that should
# catch it. A mutant the tier does not fail survived: either a test is
# missing, or the mutant is equivalent (marked so in the list, with why).
#
# Usage: tests/mutate/run.sh LIST SCRATCH "TIERS" [ID...]
#   LIST     the mutant list (tests/mutate/mutants.txt; format at its top)
#   SCRATCH  a directory of its own ($(O)/mutate): the copy of the tree is
#            SCRATCH/tree and is kept between runs, so its build is
#            incremental; logs go to SCRATCH/logs, the table to
#            SCRATCH/results.txt
#   TIERS    which tiers to run: unit (lint mutants are unit-tier ones),
#            kunit, vm
#   ID...    only these mutants
#
# The copy is the worktree's files as they are (git ls-files, tracked and
# untracked-but-not-ignored), never the worktree itself. It is built once
# and its build/ saved; each mutant changes one file (mtime now, so make
# rebuilds only what depends on it), runs its tier, then the file and the
# build outputs are put back as they were (mtimes included), so the next
# mutant starts from the clean build again.
#
# Unit tier: builds the mutant's hinted test programs and runs them; if
# none fails, builds the rest of the unit tests, the footprint check and
# the examples (make mutate-unit-bins) and runs the other programs,
# stopping at the first that fails; 120 s each, a hang is a kill.
# A mutant that does not build is an error ("does-not-build"), not a
# kill: -Werror caught it, no test did; rewrite it so that it compiles. Lint tier: make lint first. kunit and vm tiers boot qemu: built
# first without the VM lock, booted under flock /tmp/hftmon-vm.lock.
#
# Exit status: 0 if the clean copy passes and every mutant applies and is
# killed (an equivalent one survives, as its reason says); 1 otherwise,
# with a mutant whose text is not found exactly once reported as
# "does-not-apply" (a stale mutant), and a survivor as "SURVIVED".
set -u

list=$1
scratch=$2
tiers=$3
shift 3
only="$*"

top=$(pwd)
tree=$scratch/tree
logs=$scratch/logs
saved=$scratch/saved
results=$scratch/results.txt
parsed=$scratch/mutants.parsed
us=$(printf '\037')

die() {
	echo "mutate: $*" >&2
	exit 1
}

[ -f "$list" ] || die "no mutant list $list"
mkdir -p "$scratch" "$logs"

# ---- the list: blocks of "key: value" lines, blank-line separated --------
# Out: one line per mutant, fields separated by \037, values still escaped.
awk -v us="$us" -v file="$list" '
function flush() {
	if (!nkeys)
		return
	for (k in need)
		if (!(k in v)) {
			printf "%s:%d: mutant %s has no %s:\n", file, start,
				v["id"], k > "/dev/stderr"
			bad = 1
		}
	if (v["tier"] !~ /^(unit|lint|kunit|vm)$/) {
		printf "%s:%d: tier \"%s\": unit, lint, kunit or vm\n", file,
			start, v["tier"] > "/dev/stderr"
		bad = 1
	}
	if (v["id"] in seen) {
		printf "%s:%d: id %s used twice\n", file, start, v["id"] > "/dev/stderr"
		bad = 1
	}
	seen[v["id"]] = 1
	print v["id"] us v["tier"] us v["file"] us v["find"] us v["replace"] \
		us v["equivalent"] us v["hint"]
	delete v
	nkeys = 0
}
BEGIN {
	split("id tier file find replace why", n, " ")
	for (i in n)
		need[n[i]] = 1
}
/^#/ { next }
/^[ \t]*$/ { flush(); next }
{
	if (!nkeys)
		start = NR
	p = index($0, ":")
	if (!p) {
		printf "%s:%d: not a \"key: value\" line\n", file, NR > "/dev/stderr"
		bad = 1
		next
	}
	key = substr($0, 1, p - 1)
	val = substr($0, p + 1)
	sub(/^[ \t]+/, "", val)
	sub(/[ \t]+$/, "", val)
	if (key !~ /^(id|tier|file|find|replace|why|equivalent|hint)$/) {
		printf "%s:%d: unknown key %s\n", file, NR > "/dev/stderr"
		bad = 1
	}
	v[key] = val
	nkeys++
}
END {
	flush()
	exit bad
}' "$list" >"$parsed" || die "$list is malformed"

# Applies one mutant to a file: find (escaped: \n, \t, \\) must occur
# exactly once. Exit 0 applied, 2 found 0 or several times.
apply() { # file find replace
	# Through the environment: awk -v would undo the list's escapes.
	MUTATE_FIND=$2 MUTATE_REPL=$3 awk '
	function unesc(s,   out, i, c) {
		out = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c == "\\" && i < length(s)) {
				c = substr(s, i + 1, 1)
				if (c == "n") { out = out "\n"; i++; continue }
				if (c == "t") { out = out "\t"; i++; continue }
				if (c == "\\") { out = out "\\"; i++; continue }
				c = "\\"
			}
			out = out c
		}
		return out
	}
	{ text = text $0 "\n" }
	END {
		f = unesc(ENVIRON["MUTATE_FIND"])
		r = unesc(ENVIRON["MUTATE_REPL"])
		if (f == "")
			exit 2
		n = 0
		rest = text
		while ((p = index(rest, f)) > 0) {
			n++
			rest = substr(rest, p + length(f))
		}
		if (n != 1) {
			print n > "/dev/stderr"
			exit 2
		}
		p = index(text, f)
		printf "%s%s%s", substr(text, 1, p - 1), r,
			substr(text, p + length(f))
	}' "$1"
}

wants_tier() { # tier
	t=$1
	[ "$t" = lint ] && t=unit
	case " $tiers " in *" $t "*) return 0 ;; esac
	return 1
}

selected() { # id
	[ -z "$only" ] && return 0
	case " $only " in *" $1 "*) return 0 ;; esac
	return 1
}

# ---- the scratch copy ----------------------------------------------------
sync_tree() {
	mkdir -p "$tree"
	git -C "$top" ls-files -co --exclude-standard -z >"$scratch/files" ||
		die "git ls-files failed (not a git worktree?)"
	# Content compared, not times: a changed file gets mtime now.
	rsync -rlpc --from0 --files-from="$scratch/files" "$top/" "$tree/" ||
		die "rsync of the tree failed"
	# Files gone from the worktree go from the copy too.
	tr '\0' '\n' <"$scratch/files" | sort >"$scratch/files.sorted"
	(cd "$tree" && find . -path ./build -prune -o -type f -print |
		sed 's|^\./||' | sort) >"$scratch/files.copy"
	comm -13 "$scratch/files.sorted" "$scratch/files.copy" |
		while IFS= read -r f; do rm -f "$tree/$f"; done
}

# Runs the unit test programs, hint first; prints the first that fails.
# The hinted programs are built and run before anything else is built:
# most mutants are killed there, and relinking every test program (and
# the footprint check and the examples) for each would double the tier's
# time. A mutant they do not kill gets the whole build and the rest.
unit_list() { # log
	[ -s "$scratch/unit.list" ] ||
		make -s --no-print-directory -C "$tree" mutate-unit-list >"$scratch/unit.list" \
			2>>"$1"
}

run_progs() { # list log: prints the first program that fails
	while IFS= read -r prog; do
		[ -n "$prog" ] || continue
		# shellcheck disable=SC2086 # a program and its arguments
		(cd "$tree" && timeout 120 $prog) >>"$2" 2>&1 || {
			echo "$prog" | sed 's|.*/||; s| .*||'
			return 0
		}
	done <"$1"
	return 1
}

run_unit() { # hint log
	hint=$1
	log=$2
	# The programs of the clean copy: a mutant changes no file name.
	unit_list "$log" || return 1
	for h in $hint; do grep "/$h\$" "$scratch/unit.list"; done \
		>"$scratch/unit.hinted"
	for h in $hint; do printf '%s\n' "/$h\$"; done >"$scratch/hint.pat"
	if [ -s "$scratch/unit.hinted" ]; then
		# shellcheck disable=SC2046 # program paths, no blanks
		nice -n 5 make -C "$tree" -j2 \
			$(sed 's| .*||' "$scratch/unit.hinted") >>"$log" 2>&1 || {
			echo build
			return 0
		}
		run_progs "$scratch/unit.hinted" "$log" && return 0
	fi
	nice -n 5 make -C "$tree" -j2 mutate-unit-bins >>"$log" 2>&1 || {
		echo build
		return 0
	}
	if [ -s "$scratch/hint.pat" ]; then
		grep -v -f "$scratch/hint.pat" "$scratch/unit.list"
	else
		cat "$scratch/unit.list"
	fi >"$scratch/unit.rest"
	run_progs "$scratch/unit.rest" "$log"
}

# Runs a tier on the copy as it is. Prints what failed (killed) and
# returns 0, or returns 1 if everything passed.
run_tier() { # tier hint log
	case $1 in
	lint)
		nice -n 5 make -C "$tree" lint >>"$3" 2>&1 || {
			echo lint
			return 0
		}
		run_tier unit "$2" "$3"
		;;
	unit)
		run_unit "$2" "$3"
		;;
	kunit)
		# Never hold the VM lock while the KUnit kernel builds.
		(cd "$tree" && nice -n 5 tools/vm/kunit-kernel.sh) >>"$3" 2>&1 || {
			echo "kunit-kernel build"
			return 0
		}
		# tests/kunit/run.sh builds the module itself, inside the lock.
		flock /tmp/hftmon-vm.lock nice -n 5 make -C "$tree" test-kunit \
			>>"$3" 2>&1 || {
			if grep -q '^kunit: FAILED: module build failed' "$3"; then
				echo build
			else
				echo test-kunit
			fi
			return 0
		}
		return 1
		;;
	vm)
		nice -n 5 make -C "$tree" -j2 vm-payload >>"$3" 2>&1 || {
			echo build
			return 0
		}
		# The main boot only (the integration programs): the load/unload
		# loop's boot finds leaks, which no mutant of the list plants,
		# and would double the time of every vm mutant.
		flock /tmp/hftmon-vm.lock nice -n 5 make -C "$tree" test-vm \
			VM_PARTS=main >>"$3" 2>&1 || {
			echo test-vm
			return 0
		}
		return 1
		;;
	esac
}

# ---- go ------------------------------------------------------------------
exec 9>"$scratch/lock"
flock -n 9 || die "another make mutate uses $scratch"

start=$(date +%s)
sync_tree
rm -f "$scratch/unit.list"
: >"$results"
status=0
base_ok=""

for t in unit kunit vm; do
	wants_tier "$t" || continue
	# Only tiers that have a selected mutant are run clean.
	has=$(awk -F "$us" -v t="$t" '$2 == t || (t == "unit" && $2 == "lint") { print $1 }' \
		"$parsed" | while IFS= read -r id; do
			selected "$id" && echo "$id"
		done)
	[ -n "$has" ] || continue
	log=$logs/clean-$t.log
	: >"$log"
	echo "mutate: $t tier on the clean copy"
	if what=$(run_tier "$t" "" "$log"); then
		echo "mutate: the clean copy fails the $t tier ($what): see $log" >&2
		exit 1
	fi
	base_ok="$base_ok $t"
done
[ -n "$base_ok" ] || die "no mutant selected for tiers: $tiers"

# The clean build, to put back after each mutant.
rm -rf "$saved"
mkdir -p "$saved/src" "$tree/build"
rsync -a --delete "$tree/build/" "$saved/build/" ||
	die "could not save the clean build"

while IFS="$us" read -r id tier file find repl equiv hint; do
	wants_tier "$tier" || continue
	selected "$id" || continue
	group=$tier
	[ "$group" = lint ] && group=unit
	log=$logs/$id.log
	: >"$log"
	t0=$(date +%s)
	if [ ! -f "$tree/$file" ]; then
		verdict=does-not-apply
		detail="no file $file"
	elif ! apply "$tree/$file" "$find" "$repl" >"$scratch/mutated" \
		2>"$scratch/count"; then
		verdict=does-not-apply
		detail="text found $(cat "$scratch/count") times in $file, not once"
	else
		mkdir -p "$saved/src/$(dirname "$file")"
		cp -p "$tree/$file" "$saved/src/$file"
		cat "$scratch/mutated" >"$tree/$file"
		if what=$(run_tier "$tier" "$hint" "$log"); then
			verdict=killed
			detail="by $what"
			if [ "$what" = build ]; then
				verdict=does-not-build
				detail="see $log"
			fi
		else
			verdict=SURVIVED
			detail=""
		fi
		cp -p "$saved/src/$file" "$tree/$file"
		rsync -a --delete "$saved/build/" "$tree/build/"
	fi
	case $verdict in
	killed)
		if [ -n "$equiv" ]; then
			detail="$detail (marked equivalent: it is not)"
			status=1
		fi
		;;
	SURVIVED)
		if [ -n "$equiv" ]; then
			verdict=equivalent
			detail=$equiv
		else
			status=1
		fi
		;;
	*) status=1 ;;
	esac
	line=$(printf '%-28s %-6s %-15s %s %s' "$id" "$tier" "$verdict" \
		"$detail" "($(($(date +%s) - t0)) s)")
	echo "$line"
	printf '%s\t%s\t%s\n' "$group" "$verdict" "$line" >>"$results"
done <"$parsed"

for t in unit kunit vm; do
	awk -F '\t' -v t="$t" '
	$1 == t { n++; k += $2 == "killed"; e += $2 == "equivalent";
		  s += $2 == "SURVIVED"; d += $2 ~ /^does-not/ }
	END {
		if (n)
			printf "mutate: %s tier: %d of %d killed (%d of %d non-equivalent), %d survived, %d equivalent, %d do not apply or build\n",
				t, k, n, k, n - e, s, e, d
	}' "$results"
done
echo "mutate: $(($(date +%s) - start)) s; table in $results"
exit $status
