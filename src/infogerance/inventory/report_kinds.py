"""Kinds of agent report that other apps store: kind → handler, filled in by those apps.

``inventory`` receives every report (the agent API, :func:`services.ingest`) and validates
every kind (``payload.py``, the protocol). It stores heartbeats, inventories and performance
summaries itself; a report of another kind is handed to the handler registered for it. The
layers put the apps that own those kinds (``backups``) above ``inventory``, so ``inventory``
never imports them: they register their handlers in their ``AppConfig.ready()``.

A handler runs inside ``ingest``'s transaction, for a report that is new by sequence. It
stores the report through its app's services and answers ``"stored"``, or ``"duplicate"``
when the fact it carries was recorded before (the same run id). Bad references in the report
raise :class:`~infogerance.inventory.payload.PayloadError` with keys naming the field
(``reports[3].data.repository_id``): the whole batch is then refused and nothing is stored.
A handler must never raise ``PermissionDenied`` for a report's content (the agent API answers
it as a refused credential).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import ValidationError

from infogerance.core.actors import SystemActor
from infogerance.inventory import payload
from infogerance.inventory.models import Agent

#: The kinds ``ingest`` stores itself.
OWN_KINDS = frozenset({"heartbeat", "inventory", "performance"})

Outcome = Literal["stored", "duplicate"]


@dataclass(frozen=True)
class AgentReport:
    """A validated report of an authenticated agent, as a handler receives it."""

    agent: Agent
    envelope: payload.ReportHead
    data: Any  # the kind's model in payload.DATA_MODELS
    index: int  # its place in the batch, for error messages

    @property
    def actor(self) -> SystemActor:
        """Who records it: this agent (``system:agent:<uid>`` in the audit trail)."""
        return SystemActor(f"agent:{self.agent.uid.hex}")

    def field(self, name: str) -> str:
        return f"reports[{self.index}].data.{name}" if name != "__all__" else self.where

    @property
    def where(self) -> str:
        return f"reports[{self.index}].data"

    def refuse(self, errors: dict[str, list[str]]) -> payload.PayloadError:
        """The error that refuses the batch, ``errors`` keyed by the data's field names."""
        return payload.PayloadError({self.field(k): list(v) for k, v in errors.items()})

    def refuse_validation(self, exc: ValidationError) -> payload.PayloadError:
        """A service's ValidationError, its fields placed in the report."""
        if hasattr(exc, "error_dict"):
            return self.refuse(exc.message_dict)
        return self.refuse({"__all__": exc.messages})


Handler = Callable[[AgentReport], Outcome]

_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Store reports of ``kind`` with ``handler`` (once per kind; again with the same one is
    harmless, so that ``ready()`` may run twice)."""
    if kind not in payload.DATA_MODELS:
        raise ValueError(f"{kind!r} is not a kind of the agent protocol (payload.DATA_MODELS)")
    if kind in OWN_KINDS:
        raise ValueError(f"{kind!r} reports are stored by inventory itself")
    existing = _handlers.get(kind)
    if existing is not None and existing is not handler:
        raise ValueError(f"{kind!r} reports already have a handler: {existing!r}")
    _handlers[kind] = handler


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def registered() -> dict[str, Handler]:
    return dict(_handlers)
