#!/bin/sh
# The benchmark, inside the VM: load the module and print vm_bench's
# ratios (ping-pong with nothing, hftmon untracked/tracked, ftrace).
set -e
insmod ./hftmon.ko
./bin/vm_bench "$@"
rmmod hftmon
