#!/bin/sh
# The arm64 benchmark, inside the VM (make bench-vm-arm64): what reading
# hardware counters at every switch costs the ping-pong on a counting PMU,
# beside no counters, software ones and perf_event_open(2)'s per-thread
# counters of the same events, in one boot (vm_bench --pmu-only).
set -e
insmod ./hftmon.ko
./bin/vm_bench --pmu-only "$@"
rmmod hftmon
