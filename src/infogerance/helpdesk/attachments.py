"""Ticket attachments: limits from settings, sanitised names, opaque storage paths."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.core.actors import SystemActor, actor_label
from infogerance.core.services import service
from infogerance.helpdesk.models import Attachment, Ticket
from infogerance.helpdesk.services import _append, _locked
from infogerance.helpdesk.workflow import Status
from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def clean_name(name: str) -> str:
    """A file name safe to show and to send back: no path, no control or odd characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name).strip(" .")
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    stem = stem[:100] or "file"
    return f"{stem}.{ext[:15]}" if ext else stem


@service
def add_attachment(
    ticket: Ticket,
    *,
    actor: Any,
    name: str,
    content: bytes,
    content_type: str = "application/octet-stream",
    internal: bool = False,
) -> Attachment:
    ticket = _locked(ticket)
    perm = Perm.WORK_TICKETS if internal else Perm.OPEN_TICKET
    if not isinstance(actor, SystemActor) and not scope.has_perm(actor, perm, ticket.organization):
        raise PermissionDenied("attaching a file")
    if ticket.status == Status.CLOSED:
        raise ValidationError({"file": [_("A closed ticket takes no attachment: reopen it.")]})
    safe = clean_name(name)
    extension = safe.rpartition(".")[2].lower() if "." in safe else ""
    if extension not in settings.ATTACHMENT_EXTENSIONS:
        raise ValidationError(
            {
                "file": [
                    _("Files of this type are not accepted (allowed: %(list)s).")
                    % {"list": ", ".join(settings.ATTACHMENT_EXTENSIONS)}
                ]
            }
        )
    if len(content) > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    _("The file is too large (%(size)d bytes, at most %(max)d).")
                    % {"size": len(content), "max": settings.ATTACHMENT_MAX_BYTES}
                ]
            }
        )
    if not content:
        raise ValidationError({"file": [_("The file is empty.")]})
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        ticket=ticket,
        name=safe,
        size=len(content),
        sha256=digest,
        content_type=content_type[:100],
        internal=internal,
        uploaded_by=actor_label(actor)[:254],
    )
    attachment.file.save(safe, ContentFile(content), save=False)
    attachment.save()
    _append(
        ticket,
        actor=actor,
        kind="attachment",
        internal=internal,
        data={"attachment_id": attachment.pk, "name": safe, "size": len(content), "sha256": digest},
    )
    ticket.save()
    record(
        actor=actor,
        action="ticket.attachment",
        target=ticket,
        after={"name": safe, "size": len(content), "sha256": digest},
        tenant=ticket.organization.tenant,
    )
    return attachment
