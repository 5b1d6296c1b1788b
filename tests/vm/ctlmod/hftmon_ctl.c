// SPDX-License-Identifier: GPL-2.0
/*
 * hftmon_ctl: the control of the VM tier's load/unload leak test
 * (tests/vm/t_loadunload.sh). Loading and unloading any module moves free
 * memory a little by itself (module text, sysfs, per-CPU areas); the test
 * measures that drift with this module, which allocates nothing and
 * hooks nothing, and allows hftmon only that much more. It is built by
 * the Makefile against every kernel the VM boots (Debian's and the KUnit
 * kernel), so the control exists wherever hftmon.ko does.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init hftmon_ctl_init(void)
{
	return 0;
}

static void __exit hftmon_ctl_exit(void)
{
}

module_init(hftmon_ctl_init);
module_exit(hftmon_ctl_exit);

MODULE_DESCRIPTION("hftmon test control: a module that does nothing");
MODULE_LICENSE("GPL");
