"""Exceptions raised by eie-sim on bad input.

Every error the package raises because of what a caller passed in is an
:class:`EIEError`. Messages name the argument or field, the value received and
what was expected.
"""

from __future__ import annotations

__all__ = [
    "EIEError",
    "ConfigError",
    "EncodingError",
    "PointerOverflowError",
    "FixedPointError",
    "ActivationError",
    "ModelFileError",
]


class EIEError(ValueError):
    """Base class of every eie-sim error caused by bad input."""


class ConfigError(EIEError):
    """An architecture or encoding parameter is out of range or of the wrong type."""


class EncodingError(EIEError):
    """Weights, codes, codebooks or a compressed layer are malformed."""


class PointerOverflowError(EncodingError):
    """A column pointer does not fit in ``ptr_bits`` bits; ``bits_needed`` says how many would."""

    def __init__(self, message: str, bits_needed: int):
        super().__init__(message)
        self.bits_needed = bits_needed


class FixedPointError(EIEError):
    """A fixed-point format (total or fractional bits) is invalid."""


class ActivationError(EIEError):
    """An activation vector has the wrong shape, length or non-finite values."""


class ModelFileError(EIEError):
    """A model file is corrupt, truncated, foreign, of an unknown version, or cannot be written."""


def describe(value: object, limit: int = 60) -> str:
    """Short printable form of ``value`` for error messages."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # NumPy scalar -> Python scalar, so messages read 0.5 not np.float64(0.5)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
