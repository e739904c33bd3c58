"""The WSGI application ``infogerance serve`` runs (granian).

Django's response is handed to the server as a one-item list when its body is already in
memory (every response but files and streams): granian writes a list's body at once, but
pulls any other iterable through Python, chunk by chunk, holding the interpreter lock. For
the small answers of the agent API that was a fifth of the server's CPU (heartbeats through
``serve --workers 2``: 852 → 1,064/s, docs/benchmarks.md). The response is closed first,
which is when Django ends the request (its ``request_finished`` signal).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "infogerance.settings")
django_application = get_wsgi_application()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    response = django_application(environ, start_response)
    if not isinstance(response, HttpResponse):  # a file, a stream: the server pulls it
        return response
    body = response.content
    response.close()
    return [body]
