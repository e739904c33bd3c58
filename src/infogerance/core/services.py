"""The one write path: service functions.

A service takes a keyword-only ``actor``, runs in one transaction, checks the actor's right on
the tenant, and records an audit event. Views, API, CLI and tasks only ever call services.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


def service(func: Callable[P, R]) -> Callable[P, R]:
    """Declare a service function: atomic, with a mandatory keyword-only ``actor``."""
    parameter = inspect.signature(func).parameters.get("actor")
    if parameter is None or parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"{func.__qualname__}: a service takes a keyword-only 'actor'")

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic():
            return func(*args, **kwargs)

    wrapper.is_service = True  # type: ignore[attr-defined]
    return wrapper
