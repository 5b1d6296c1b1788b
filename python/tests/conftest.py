# SPDX-License-Identifier: LGPL-2.1 OR MIT
# The tree's packages first, whatever is installed.
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                "..")))
