"""The composition root (for faces only): data directory, platform wiring, first start."""

from lakevault.runtime._home import prepare_home, require_home
from lakevault.runtime._platform import InitResult, Platform, initialise

__all__ = ["InitResult", "Platform", "initialise", "prepare_home", "require_home"]
