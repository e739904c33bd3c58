"""Importing contracts and amendments. A version, once imported, never changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.contracts.export import fingerprint
from infogerance.contracts.loader import load_contract
from infogerance.contracts.models import Contract, ContractVersion
from infogerance.core.actors import actor_label
from infogerance.core.services import service
from infogerance.tenancy import scope
from infogerance.tenancy.models import Organization
from infogerance.tenancy.roles import OrganizationKind, Perm


@service
def import_contract(
    *,
    actor: Any,
    client: Organization,
    text: str | bytes,
    effective_from: dt.date | None = None,
    note: str = "",
) -> ContractVersion:
    """Create the contract, or a new version of it (an amendment), from a contract file.

    Raises ContractFileError (every problem of the file, with lines) or ValidationError.
    """
    if client.kind != OrganizationKind.CLIENT:
        raise ValidationError({"client": [_("A contract belongs to a client organisation.")]})
    scope.require(actor, Perm.MANAGE_CONTRACTS, client)
    document = load_contract(text)
    source = text.decode("utf-8") if isinstance(text, bytes) else text
    contract = (
        Contract.objects.select_for_update()
        .filter(organization=client, reference=document.reference)
        .first()
    )
    digest = fingerprint(document)
    if contract is None:
        contract = Contract.objects.create(
            organization=client, reference=document.reference, title=document.title
        )
        record(
            actor=actor,
            action="contract.create",
            target=contract,
            after={"reference": contract.reference, "title": contract.title},
            tenant=client.tenant,
        )
        number = 1
        effective = effective_from or document.term.start
    else:
        latest = contract.versions.order_by("-number").first()
        assert latest is not None  # a contract is created with its first version
        if latest.sha256 == digest:
            raise ValidationError(
                {
                    "file": [
                        _("These terms are identical to version %(n)d: nothing to import.")
                        % {"n": latest.number}
                    ]
                }
            )
        number = latest.number + 1
        effective = effective_from or dt.date.today()
        if effective < latest.effective_from:
            raise ValidationError(
                {
                    "effective_from": [
                        _("An amendment takes effect on or after the previous version (%(date)s).")
                        % {"date": latest.effective_from.isoformat()}
                    ]
                }
            )
        if contract.title != document.title:
            Contract.objects.filter(pk=contract.pk).update(title=document.title)
    version = ContractVersion.objects.create(
        contract=contract,
        number=number,
        effective_from=effective,
        document=document.model_dump_json(),
        source=source,
        sha256=digest,
        note=note[:500],
        imported_by=actor_label(actor)[:254],
    )
    record(
        actor=actor,
        action="contract.version_create",
        target=version,
        after={
            "number": number,
            "effective_from": effective,
            "sha256": digest,
            "note": version.note,
        },
        tenant=client.tenant,
    )
    return version
