"""One exception class for each lm_status. Each derives from LaminaError and
from the built-in exception a Python programmer would catch for it, so
`except ValueError` still works for a bad argument."""


class LaminaError(Exception):
    """Base of every exception lamina raises; .status is the lm_status number."""
    status = None


class InvalidArgumentError(LaminaError, ValueError):
    """LM_EINVAL: a bad argument (wrong size, unknown name, NaN in the data)."""
    status = 1


class LaminaTypeError(LaminaError, TypeError):
    """An argument of a type lamina cannot convert (strings as features, objects)."""
    status = 1


class OutOfMemoryError(LaminaError, MemoryError):
    """LM_ENOMEM: an allocation failed or would exceed lamina's limit."""
    status = 2


class LaminaIOError(LaminaError, OSError):
    """LM_EIO: a file could not be opened, read or written."""
    status = 3


class FormatError(LaminaError, ValueError):
    """LM_EFORMAT: a model file is malformed or not lamina's."""
    status = 4


class NumericError(LaminaError, ArithmeticError):
    """LM_ENUMERIC: a NaN or infinity appeared in a loss or gradient."""
    status = 5


class StoppedError(LaminaError):
    """LM_ESTOPPED: a callback stopped training (fit itself never raises it)."""
    status = 6


BY_STATUS = {c.status: c for c in (InvalidArgumentError, OutOfMemoryError, LaminaIOError,
                                   FormatError, NumericError, StoppedError)}


def raise_status(st, msg):
    cls = BY_STATUS.get(st, LaminaError)
    raise cls(msg or "lamina status %d" % st)
