# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
The exceptions of hft_resource_monitor. Every failure of a libhftmon call
raises one of them, carrying the library's -errno as errno (positive, as
OSError has it), its meaning (strerror), the library's own logged reason
when it gave one (reason), and what was being done (operation). Bad
arguments the binding rejects before calling the library raise
InvalidArgumentError with errno EINVAL, as the library would.

    HFTMonitorError (OSError)
     +-- InvalidArgumentError (also ValueError): EINVAL, E2BIG, ERANGE
     +-- UnsupportedError: EOPNOTSUPP, ENOSYS (this module, kernel or
     |                     machine cannot do it: reason says why)
     +-- PermissionDeniedError (also PermissionError): EPERM, EACCES
     +-- ProcessNotFoundError (also ProcessLookupError): ESRCH
     +-- MonitorStateError: EBUSY, EBADF (not in the state the call needs)
     +-- DeviceError: ENOENT, ENODEV, ENXIO at open (no module loaded)
"""
import errno as _errno
import os


class HFTMonitorError(OSError):
    """A libhftmon call failed: errno, strerror, reason, operation."""

    def __init__(self, err, operation, reason=None):
        super().__init__(err, os.strerror(err))
        self.operation = operation
        self.reason = reason

    def __str__(self):
        s = "%s: %s" % (self.operation, self.strerror)
        if self.reason:
            s += " (%s)" % self.reason
        return s


class InvalidArgumentError(HFTMonitorError, ValueError):
    """An argument the library (or the binding first) refuses."""


class UnsupportedError(HFTMonitorError):
    """What was asked cannot be measured here; reason says why."""


class PermissionDeniedError(HFTMonitorError, PermissionError):
    """Not permitted (the device, the process, RT priority...)."""


class ProcessNotFoundError(HFTMonitorError, ProcessLookupError):
    """No such process."""


class MonitorStateError(HFTMonitorError):
    """The monitor is not in the state the call needs (running, closed)."""


class DeviceError(HFTMonitorError):
    """/dev/hftmon cannot be opened: the module is not loaded."""


_BY_ERRNO = {
    _errno.EINVAL: InvalidArgumentError,
    _errno.E2BIG: InvalidArgumentError,
    _errno.ERANGE: InvalidArgumentError,
    _errno.EOPNOTSUPP: UnsupportedError,
    _errno.ENOSYS: UnsupportedError,
    _errno.EPERM: PermissionDeniedError,
    _errno.EACCES: PermissionDeniedError,
    _errno.ESRCH: ProcessNotFoundError,
    _errno.EBUSY: MonitorStateError,
    _errno.EBADF: MonitorStateError,
}


def error_for(err, operation, reason=None, opening=False):
    """The exception for a library's return err (negative or positive)."""
    err = abs(err)
    cls = _BY_ERRNO.get(err, HFTMonitorError)
    if opening and err in (_errno.ENOENT, _errno.ENODEV, _errno.ENXIO):
        cls = DeviceError
    return cls(err, operation, reason)


def invalid(operation, why):
    """InvalidArgumentError (EINVAL) for an argument the binding refuses."""
    return InvalidArgumentError(_errno.EINVAL, operation, why)
