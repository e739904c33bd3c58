"""Who performs a write: a user, or the platform itself (CLI, worker, scheduler, agent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class SystemActor:
    """A non-human actor. ``label`` says which part of the platform acted (``cli``, ``worker``…).

    A system actor is trusted: rights are checked where the request entered (a person at the
    CLI owns the machine; a task was enqueued by a service that checked its actor).
    """

    label: str

    @property
    def pk(self) -> None:
        return None

    def __str__(self) -> str:
        return f"system:{self.label}"


Actor = Union["AbstractBaseUser", "AnonymousUser", SystemActor]


def actor_label(actor: object) -> str:
    if isinstance(actor, SystemActor):
        return str(actor)
    if getattr(actor, "is_authenticated", False):
        return str(getattr(actor, "email", "") or getattr(actor, "pk", ""))
    return "anonymous"


def actor_id(actor: object) -> int | None:
    if isinstance(actor, SystemActor) or not getattr(actor, "is_authenticated", False):
        return None
    pk = getattr(actor, "pk", None)
    return int(pk) if pk is not None else None
