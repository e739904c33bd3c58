from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from infogerance import __version__


def platform(request: HttpRequest) -> dict[str, Any]:
    return {"platform_version": __version__}
