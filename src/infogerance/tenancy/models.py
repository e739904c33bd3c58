"""Organisations (providers and their clients), users and memberships."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infogerance.core.models import TenantQuerySet, TenantRef, TimeStamped
from infogerance.tenancy.roles import OrganizationKind, Role


class Organization(TimeStamped):
    """A tenant. A provider serves clients; every client has exactly one provider."""

    TENANT_ORG_FIELD: ClassVar[str] = "id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "provider_id"

    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    registration_id = models.CharField(
        _("registration number"), max_length=40, blank=True, help_text=_("SIREN in France")
    )
    country = models.CharField(_("country"), max_length=2, default="FR")
    provider = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clients",
        verbose_name=_("provider"),
    )
    require_2fa = models.BooleanField(_("second factor required"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="provider", provider__isnull=True))
                | (Q(kind="client", provider__isnull=False)),
                name="tenancy_org_client_has_provider",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_provider(self) -> bool:
        return self.kind == OrganizationKind.PROVIDER

    @property
    def provider_root_id(self) -> int:
        """The id of the provider whose tree holds this organisation."""
        return self.pk if self.provider_id is None else self.provider_id

    @property
    def tenant(self) -> TenantRef:
        """Where audit events about this organisation are filed."""
        return TenantRef(self.pk, self.provider_root_id)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=(username or "").strip())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


def normalize_email(email: str) -> str:
    return email.strip().lower()


class User(AbstractBaseUser):
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=8, default="fr", choices=[("fr", "Français"), ("en", "English")]
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        ordering = ["full_name", "email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    # Django's auth machinery asks these; rights come from memberships, not from flags.
    is_staff = False
    is_superuser = False

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False


class Membership(TimeStamped):
    TENANT_ORG_FIELD: ClassVar[str] = "organization_id"
    TENANT_PROVIDER_FIELD: ClassVar[str | None] = "organization__provider_id"

    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)

    objects: ClassVar[Any] = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "user__full_name"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="tenancy_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"
