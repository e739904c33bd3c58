"""The role matrix, as a table: who may do what, where."""

from __future__ import annotations

from typing import Any

import pytest

from infogerance.tenancy import scope
from infogerance.tenancy.roles import Perm

V, C, M, VM, MM, A, K, T, W, R, OP, S, D, IV, IM, AG = (
    Perm.VIEW,
    Perm.CHANGE_ORG,
    Perm.CREATE_CLIENT,
    Perm.VIEW_MEMBERS,
    Perm.MANAGE_MEMBERS,
    Perm.VIEW_AUDIT,
    Perm.MANAGE_CONTRACTS,
    Perm.OPEN_TICKET,
    Perm.WORK_TICKETS,
    Perm.VIEW_REPORTS,
    Perm.RECORD_OPERATIONS,
    Perm.MANAGE_REPORTS,
    Perm.DISPUTE,
    Perm.VIEW_INVENTORY,
    Perm.MANAGE_INVENTORY,
    Perm.MANAGE_AGENTS,
)

# user -> organisation -> the rights held there (everything else is refused)
MATRIX: dict[str, dict[str, set[Perm]]] = {
    "p_admin": {
        "provider": {V, C, M, VM, MM, A, K, T, W, R, OP, S, IV, IM, AG},
        "victim": {V, C, M, VM, MM, A, K, T, W, R, OP, S, IV, IM, AG},
        "neighbour": {V, C, M, VM, MM, A, K, T, W, R, OP, S, IV, IM, AG},
        "other_provider": set(),
    },
    "p_engineer": {
        "provider": {V, VM, T, W, R, OP, IV, IM},
        "victim": {V, VM, T, W, R, OP, IV, IM},
        "neighbour": {V, VM, T, W, R, OP, IV, IM},
        "other_provider": set(),
    },
    "p_auditor": {
        "provider": {V, VM, A, R, IV},
        "victim": {V, VM, A, R, IV},
        "neighbour": {V, VM, A, R, IV},
        "other_provider": set(),
    },
    "a_manager": {
        "provider": set(),
        "victim": {V, VM, MM, A, T, R, D, IV},
        "neighbour": set(),
        "other_provider": set(),
    },
    "a_user": {"provider": set(), "victim": {V, T}, "neighbour": set(), "other_provider": set()},
    "a_auditor": {
        "provider": set(),
        "victim": {V, VM, A, R, IV},
        "neighbour": set(),
        "other_provider": set(),
    },
    "q_admin": {
        "provider": set(),
        "victim": set(),
        "neighbour": set(),
        "other_provider": {V, C, M, VM, MM, A, K, T, W, R, OP, S, IV, IM, AG},
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", sorted(MATRIX))
def test_role_matrix(world: Any, who: str) -> None:
    user = world.user(who)
    for org_key, allowed in MATRIX[who].items():
        org = getattr(world, org_key)
        for perm in Perm:
            assert scope.has_perm(user, perm, org) == (perm in allowed), (who, org_key, perm)


PAGES = [
    # (url name, org, user, expected status)
    ("tenancy:organization_edit", "victim", "p_admin", 200),
    ("tenancy:organization_edit", "victim", "a_manager", 403),
    ("tenancy:organization_edit", "victim", "p_engineer", 403),
    ("tenancy:member_invite", "victim", "a_manager", 200),
    ("tenancy:member_invite", "victim", "a_user", 403),
    ("tenancy:member_invite", "victim", "p_auditor", 403),
    ("tenancy:client_create", "provider", "p_admin", 200),
    ("tenancy:client_create", "provider", "p_engineer", 403),
    ("tenancy:organization", "victim", "a_user", 200),
    ("tenancy:organization", "victim", "b_manager", 404),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "org_key", "who", "status"), PAGES)
def test_pages_follow_the_matrix(
    world: Any, login: Any, name: str, org_key: str, who: str, status: int
) -> None:
    from django.urls import reverse

    from infogerance.core.testing.audit import audit_expected

    client = login(world.user(who))
    url = reverse(name, kwargs={"org_id": getattr(world, org_key).pk})
    if status == 403:
        home = world.user(who).memberships.get().organization_id
        with audit_expected("access.denied", actor_id=world.user(who).pk, organization_id=home):
            assert client.get(url).status_code == 403
    else:
        assert client.get(url).status_code == status


@pytest.mark.django_db
def test_a_client_manager_cannot_grant_a_provider_role(world: Any) -> None:
    from django.core.exceptions import ValidationError

    from infogerance.tenancy.services import invite_member

    with pytest.raises(ValidationError) as caught:
        invite_member(
            actor=world.user("a_manager"),
            organization=world.victim,
            email="new@a.example",
            full_name="New",
            role="provider_admin",
        )
    assert "role" in caught.value.message_dict


@pytest.mark.django_db
def test_the_last_admin_stays(world: Any) -> None:
    from django.core.exceptions import ValidationError

    from infogerance.tenancy.models import Membership
    from infogerance.tenancy.services import change_role, remove_member

    admin = world.user("p_admin")
    membership = Membership.objects.get(user=admin)
    with pytest.raises(ValidationError):
        remove_member(membership, actor=admin)
    with pytest.raises(ValidationError):
        change_role(membership, actor=admin, role="provider_engineer")
    assert Membership.objects.get(pk=membership.pk).role == "provider_admin"
