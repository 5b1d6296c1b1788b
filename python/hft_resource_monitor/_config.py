# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Where make install-python put libhftmon (it rewrites this file): the
# library is looked for there when the dynamic loader does not find it
# (an install under /usr/local before ldconfig ran). None: not installed.
LIBDIR = None
