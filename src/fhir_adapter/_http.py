"""Helpers shared by the HTTP clients (``ctgov_api``, ``client``): one-line descriptions of transport errors."""

from __future__ import annotations

import re


def root_cause(error: BaseException) -> BaseException:
    """The innermost cause of a requests/urllib3 error (``MaxRetryError.reason``, wrapped ``args[0]``)."""
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException) and error.args and isinstance(error.args[0], BaseException):
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            return error
        error = inner


_POOL_PREFIX = re.compile(r"^\w+\(host='[^']*', port=\d+\): ")


def describe_error(error: BaseException) -> str:
    """``Type: message`` in one line, without urllib3's ``HTTPConnectionPool(host=..., port=...):`` prefix."""
    text = _POOL_PREFIX.sub("", " ".join(str(error).split()))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
