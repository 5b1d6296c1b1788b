# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""hftmon: the same package as hft_resource_monitor, under the project's name."""
from hft_resource_monitor import *  # noqa: F401,F403
from hft_resource_monitor import __all__, __version__  # noqa: F401
