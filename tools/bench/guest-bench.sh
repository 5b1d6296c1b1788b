#!/bin/sh
# The benchmark, inside the VM: load the module and print vm_bench's
# ratios (ping-pong with nothing, hftmon untracked/tracked, with the
# interruption and spike probes, ftrace), then spike_latency's delivery
# times (hftmon_inject.ko's IPIs, loaded for it alone), then what
# sampling a process's NUMA residency costs it (numa_bench: no module),
# then what the page-fault spike probe costs every fault (fault_bench,
# which loads and unloads the module itself), then what PMU sampling
# ticks cost a spinning tracked thread (tick_bench). perf, where make
# bench-vm could bundle it (perf-bundle.sh), runs beside vm_bench's.
set -e
insmod ./hftmon.ko
if [ -x ./perf/perf.sh ]; then
	./bin/vm_bench --perf ./perf/perf.sh "$@"
else
	./bin/vm_bench "$@"
fi
./bin/tick_bench
insmod bin/hftmon_inject.ko
./bin/spike_latency
rmmod hftmon_inject
rmmod hftmon
./bin/numa_bench
./bin/fault_bench --ko ./hftmon.ko
