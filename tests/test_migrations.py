"""Every model change has its migration (a missing one would break the next deployment)."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migration() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
