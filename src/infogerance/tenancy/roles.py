"""Roles and the rights they grant. The role matrix is data, tested as a table."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    PROVIDER = "provider", _("Provider")
    CLIENT = "client", _("Client")


class Role(models.TextChoices):
    PROVIDER_ADMIN = "provider_admin", _("Provider administrator")
    PROVIDER_ENGINEER = "provider_engineer", _("Provider engineer")
    CLIENT_MANAGER = "client_manager", _("Client IT manager")
    CLIENT_USER = "client_user", _("Client user")
    AUDITOR = "auditor", _("Auditor (read-only)")


class Perm(StrEnum):
    VIEW = "view"  # see the organisation and what it owns
    CHANGE_ORG = "org.change"  # edit the organisation's details and security settings
    CREATE_CLIENT = "org.create_client"  # add a client to a provider
    VIEW_MEMBERS = "members.view"
    MANAGE_MEMBERS = "members.manage"  # invite users, change roles, remove members
    VIEW_AUDIT = "audit.view"
    MANAGE_CONTRACTS = "contracts.manage"  # import a contract or an amendment
    OPEN_TICKET = "tickets.open"  # open a ticket, comment, confirm a restoration, reopen
    WORK_TICKETS = "tickets.work"  # assign, change status and priority, internal notes
    VIEW_REPORTS = "sla.view"  # service levels, monthly reports, penalty statements
    RECORD_OPERATIONS = "sla.record"  # record outages, maintenance, backup runs, deliveries…
    MANAGE_REPORTS = "sla.manage"  # compute, review and freeze a month; record decisions
    DISPUTE = "sla.dispute"  # contest a figure of a monthly report
    VIEW_INVENTORY = "inventory.view"  # assets, software, agents, the technical audit
    MANAGE_INVENTORY = "inventory.manage"  # record assets by hand, lifecycle, licences
    MANAGE_AGENTS = "agents.manage"  # enrolment tokens; revoke an agent


ROLES_BY_KIND: dict[str, tuple[Role, ...]] = {
    OrganizationKind.PROVIDER: (Role.PROVIDER_ADMIN, Role.PROVIDER_ENGINEER, Role.AUDITOR),
    OrganizationKind.CLIENT: (Role.CLIENT_MANAGER, Role.CLIENT_USER, Role.AUDITOR),
}

# A role held in a provider organisation applies to the provider and to every client it
# serves; a role held in a client organisation applies to that client only.
GRANTS: dict[Role, frozenset[Perm]] = {
    # Contesting a figure is the client's right, not the provider's.
    Role.PROVIDER_ADMIN: frozenset(Perm) - {Perm.DISPUTE},
    Role.PROVIDER_ENGINEER: frozenset(
        {
            Perm.VIEW,
            Perm.VIEW_MEMBERS,
            Perm.OPEN_TICKET,
            Perm.WORK_TICKETS,
            Perm.VIEW_REPORTS,
            Perm.RECORD_OPERATIONS,
            Perm.VIEW_INVENTORY,
            Perm.MANAGE_INVENTORY,
        }
    ),
    Role.AUDITOR: frozenset(
        {Perm.VIEW, Perm.VIEW_MEMBERS, Perm.VIEW_AUDIT, Perm.VIEW_REPORTS, Perm.VIEW_INVENTORY}
    ),
    Role.CLIENT_MANAGER: frozenset(
        {
            Perm.VIEW,
            Perm.VIEW_MEMBERS,
            Perm.MANAGE_MEMBERS,
            Perm.VIEW_AUDIT,
            Perm.OPEN_TICKET,
            Perm.VIEW_REPORTS,
            Perm.DISPUTE,
            Perm.VIEW_INVENTORY,
        }
    ),
    Role.CLIENT_USER: frozenset({Perm.VIEW, Perm.OPEN_TICKET}),
}


def grants(role: str, perm: Perm) -> bool:
    return perm in GRANTS.get(Role(role), frozenset())
