"""Writes on organisations, users and memberships. Each one is audited."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from infogerance.audit.services import record
from infogerance.core.actors import SystemActor
from infogerance.core.models import NO_TENANT
from infogerance.core.services import service
from infogerance.core.snapshots import changed, snapshot
from infogerance.tenancy import scope
from infogerance.tenancy.models import Membership, Organization, User, normalize_email
from infogerance.tenancy.roles import ROLES_BY_KIND, OrganizationKind, Perm, Role

ORG_EDITABLE = ("name", "legal_name", "registration_id", "country", "require_2fa", "is_active")
USER_EDITABLE = ("full_name", "language", "is_active")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def _clean_org_fields(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in fields:
        fields["name"] = str(fields["name"]).strip()
        if not fields["name"]:
            errors["name"] = [_("This field is required.")]
        elif len(fields["name"]) > 200:
            errors["name"] = [_("At most 200 characters.")]
    if "country" in fields:
        country = str(fields["country"]).strip().upper()
        if len(country) != 2 or not country.isalpha():
            errors["country"] = [_("A two-letter ISO 3166 country code, such as FR.")]
        fields["country"] = country
    if "registration_id" in fields:
        reg = str(fields["registration_id"]).replace(" ", "")
        if reg and len(reg) > 40:
            errors["registration_id"] = [_("At most 40 characters.")]
        fields["registration_id"] = reg
    if errors:
        raise ValidationError(errors)
    return fields


def _assert_role_fits(role: str, organization: Organization) -> Role:
    try:
        value = Role(role)
    except ValueError:
        raise ValidationError({"role": [_("Unknown role: %(role)s") % {"role": role}]}) from None
    if value not in ROLES_BY_KIND[organization.kind]:
        raise ValidationError(
            {"role": [_("This role does not exist in this kind of organisation.")]}
        )
    return value


@service
def create_organization(
    *,
    actor: Any,
    kind: str,
    name: str,
    provider: Organization | None = None,
    slug: str = "",
    legal_name: str = "",
    registration_id: str = "",
    country: str = "FR",
    require_2fa: bool = False,
) -> Organization:
    if kind == OrganizationKind.PROVIDER:
        # Providers are created by whoever runs the instance (CLI), not through the UI.
        if not isinstance(actor, SystemActor):
            raise PermissionDenied("only the platform operator creates providers")
        if provider is not None:
            raise ValidationError({"provider": [_("A provider cannot have a provider.")]})
    elif kind == OrganizationKind.CLIENT:
        if provider is None or not provider.is_provider:
            raise ValidationError({"provider": [_("A client needs a provider.")]})
        scope.require(actor, Perm.CREATE_CLIENT, provider)
    else:
        raise ValidationError({"kind": [_("Unknown kind: %(kind)s") % {"kind": kind}]})
    fields: dict[str, Any] = _clean_org_fields(
        {
            "name": name,
            "legal_name": legal_name.strip(),
            "registration_id": registration_id,
            "country": country,
        }
    )
    if slug and Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [_("This short name is already taken.")]})
    org = Organization.objects.create(
        kind=kind,
        provider=provider,
        slug=slug or _unique_slug(fields["name"]),
        require_2fa=require_2fa,
        **fields,
    )
    record(
        actor=actor,
        action="organization.create",
        target=org,
        after=snapshot(org),
        tenant=org.tenant,
    )
    return org


@service
def update_organization(organization: Organization, *, actor: Any, **changes: Any) -> Organization:
    unknown = set(changes) - set(ORG_EDITABLE)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    scope.require(actor, Perm.CHANGE_ORG, organization)
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    before = snapshot(org)
    for name, value in _clean_org_fields(dict(changes)).items():
        setattr(org, name, value)
    org.save()
    old, new = changed(before, snapshot(org))
    if new:
        record(
            actor=actor,
            action="organization.update",
            target=org,
            before=old,
            after=new,
            tenant=org.tenant,
        )
    return org


def _send_invitation(user: User) -> None:
    from django.contrib.auth.forms import PasswordResetForm

    class InvitationForm(PasswordResetForm):
        # Django's form skips users without a usable password: invited users have none yet.
        def get_users(self, email: str) -> Any:
            return iter(User.objects.filter(pk=user.pk, is_active=True))

    form = InvitationForm({"email": user.email})
    if form.is_valid():
        base = settings.BASE_URL
        form.save(
            domain_override=base.split("://", 1)[-1],
            use_https=base.startswith("https://"),
            subject_template_name="accounts/email/invitation_subject.txt",
            email_template_name="accounts/email/invitation.txt",
            extra_email_context={"invitation": "yes"},
        )


@service
def invite_member(
    *,
    actor: Any,
    organization: Organization,
    email: str,
    full_name: str,
    role: str,
    password: str | None = None,
    language: str = "fr",
    send_invitation: bool = True,
) -> Membership:
    """Give ``email`` a role in ``organization``, creating the user when new.

    A new user without a password receives an invitation to choose one.
    """
    scope.require(actor, Perm.MANAGE_MEMBERS, organization)
    role_value = _assert_role_fits(role, organization)
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    full_name = full_name.strip()
    if language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Unknown language.")]
    user = User.objects.filter(email__iexact=email).first()
    if user is None and not full_name:
        errors["full_name"] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    created = user is None
    if user is None:
        user = User(email=email, full_name=full_name, language=language)
        if password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from None
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        record(
            actor=actor,
            action="user.create",
            target=user,
            after=snapshot(user),
            tenant=organization.tenant,
        )
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise ValidationError({"email": [_("This person is already a member.")]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user, organization=organization, role=role_value
            )
    except IntegrityError:
        raise ValidationError({"email": [_("This person is already a member.")]}) from None
    record(
        actor=actor,
        action="membership.create",
        target=membership,
        after=snapshot(membership),
        tenant=organization.tenant,
    )
    if created and not password and send_invitation:
        transaction.on_commit(lambda: _send_invitation(user))
    return membership


def _assert_not_last_admin(membership: Membership) -> None:
    if membership.role != Role.PROVIDER_ADMIN:
        return
    others = Membership.objects.filter(
        organization_id=membership.organization_id,
        role=Role.PROVIDER_ADMIN,
        user__is_active=True,
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError(
            {"role": [_("An organisation must keep at least one active administrator.")]}
        )


@service
def change_role(membership: Membership, *, actor: Any, role: str) -> Membership:
    membership = (
        Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    )
    scope.require(actor, Perm.MANAGE_MEMBERS, membership.organization)
    new_role = _assert_role_fits(role, membership.organization)
    if new_role == membership.role:
        return membership
    _assert_not_last_admin(membership)
    before = snapshot(membership, ["role"])
    membership.role = new_role
    membership.save(update_fields=["role", "updated_at"])
    record(
        actor=actor,
        action="membership.update",
        target=membership,
        before=before,
        after=snapshot(membership, ["role"]),
        tenant=membership.organization.tenant,
    )
    return membership


@service
def remove_member(membership: Membership, *, actor: Any) -> None:
    membership = (
        Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    )
    scope.require(actor, Perm.MANAGE_MEMBERS, membership.organization)
    _assert_not_last_admin(membership)
    before = snapshot(membership)
    tenant = membership.organization.tenant
    record(actor=actor, action="membership.delete", target=membership, before=before, tenant=tenant)
    membership.delete()


def manageable_user_ids(actor: Any, user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` whose every organisation the actor manages (one query)."""
    if isinstance(actor, SystemActor):
        return set(user_ids)
    managed = scope.scope_for(actor, Perm.MANAGE_MEMBERS)
    verdict: dict[int, bool] = {}
    rows = Membership.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "organization_id", "organization__provider_id"
    )
    for user_id, org_id, provider_id in rows:
        verdict[user_id] = verdict.get(user_id, True) and managed.covers(org_id, provider_id)
    return {user_id for user_id, ok in verdict.items() if ok}


def can_manage_user(actor: Any, user: User) -> bool:
    """An actor manages a user when it manages every organisation the user belongs to."""
    return user.pk in manageable_user_ids(actor, [user.pk])


@service
def update_user(user: User, *, actor: Any, **changes: Any) -> User:
    unknown = set(changes) - set(USER_EDITABLE)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    is_self = getattr(actor, "pk", None) == user.pk and not isinstance(actor, SystemActor)
    if is_self and "is_active" in changes:
        raise ValidationError({"is_active": [_("You cannot deactivate yourself.")]})
    if not is_self and not can_manage_user(actor, user):
        raise PermissionDenied("user outside the actor's management")
    errors: dict[str, list[str]] = {}
    if "full_name" in changes:
        changes["full_name"] = str(changes["full_name"]).strip()
        if not changes["full_name"]:
            errors["full_name"] = [_("This field is required.")]
    if "language" in changes and changes["language"] not in dict(settings.LANGUAGES):
        errors["language"] = [_("Unknown language.")]
    if errors:
        raise ValidationError(errors)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = snapshot(user, USER_EDITABLE)
    for name, value in changes.items():
        setattr(user, name, value)
    user.save(update_fields=[*changes])
    old, new = changed(before, snapshot(user, USER_EDITABLE))
    if new:
        first = user.memberships.select_related("organization").first()
        tenant = first.organization.tenant if first else NO_TENANT
        record(actor=actor, action="user.update", target=user, before=old, after=new, tenant=tenant)
    return user
