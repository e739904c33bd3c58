from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from infogerance.accounts import forms, services
from infogerance.accounts.models import ApiToken
from infogerance.accounts.policy import has_second_factor, second_factor_required
from infogerance.audit.services import record
from infogerance.core.forms import apply_errors
from infogerance.tenancy import services as tenancy_services


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = forms.LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = forms.ChangePasswordForm
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = forms.ResetRequestForm
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = forms.ResetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return redirect("accounts:otp_setup")
    form = forms.OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        allowed, _data = device.verify_is_allowed()
        if not allowed:
            # django-otp slows guessing down: each failure doubles the wait before the next try.
            form.add_error("token", _("Too many wrong codes: wait a few seconds and try again."))
            return render(
                request,
                "accounts/otp_verify.html",
                {"form": form, "next": _safe_next(request)},
                status=429,
            )
        if token.isdigit() and device.verify_token(token):
            otp_login(request, device)
            record(
                actor=user,
                action="otp.verify",
                target=user,
                tenant=services.user_tenant(user),
            )
            return redirect(_safe_next(request))
        record(
            actor=user,
            action="otp.failed",
            target=user,
            tenant=services.user_tenant(user),
        )
        form.add_error("token", _("This code is not valid (or was already used)."))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})


def _qr_svg(device: TOTPDevice, email: str) -> str:
    import segno

    qr = segno.make(device.config_url, error="m")
    svg: str = qr.svg_inline(scale=4, dark="#0f172a", light="#ffffff", omitsize=True)
    return svg


@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if has_second_factor(user) and not user.is_verified():
        # Replacing a device takes the current one first (the middleware enforces it too).
        return redirect("accounts:otp_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or request.GET.get("renew"):
        device = services.start_totp(user, actor=user)
    form = forms.OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.confirm_totp(device, actor=user, token=form.cleaned_data["token"]):
            device.refresh_from_db()
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("accounts:profile")
        form.add_error("token", _("This code is not valid. Check your device's clock."))
    import base64

    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device, user.email),
            "secret": secret,
            "required": second_factor_required(user),
            "has_device": has_second_factor(user),
        },
    )


@login_required
@require_POST
def otp_disable(request: HttpRequest) -> HttpResponse:
    try:
        services.disable_totp(request.user, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Two-factor authentication is off."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:profile")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = forms.ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        try:
            updated = tenancy_services.update_user(
                user,
                actor=user,
                full_name=form.cleaned_data["full_name"],
                language=form.cleaned_data["language"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            translation.activate(updated.language)
            response = redirect("accounts:profile")
            response.set_cookie("django_language", updated.language, samesite="Lax")
            messages.success(request, _("Your profile was saved."))
            return response
    context = {
        "form": form,
        "token_form": forms.TokenForm(),
        "tokens": ApiToken.objects.filter(user=user),
        "has_device": has_second_factor(user),
        "second_factor_required": second_factor_required(user),
        "memberships": user.memberships.select_related("organization"),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST)
    if form.is_valid():
        try:
            token, secret = services.create_token(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render(
                request, "accounts/token_created.html", {"token": token, "secret": secret}
            )
    messages.error(request, _("The token was not created: check the form."))
    return render(request, "accounts/token_form.html", {"token_form": form}, status=400)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.revoke_token(token, actor=request.user)
    messages.success(request, _("The token was revoked."))
    return redirect("accounts:profile")
