"""The WSGI application `serve` runs: in-memory answers as one-item lists, the rest as Django
returns them, and the request ended (Django's `request_finished`) either way."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.core.signals import request_finished
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path

from infogerance.wsgi import application

# The real handler ends requests as a server does (closing connections Django holds in a
# transaction), so these tests do not run inside one.
pytestmark = pytest.mark.django_db(transaction=True)


def _chunks(_request: HttpRequest) -> StreamingHttpResponse:
    def parts() -> Iterator[bytes]:
        yield b"one,"
        yield b"two"

    return StreamingHttpResponse(parts(), content_type="text/plain")


urlpatterns = [path("stream", _chunks)]


@pytest.fixture
def finished() -> Iterator[list[int]]:
    """Counts the requests Django ended (its `request_finished` signal)."""
    ended: list[int] = []

    def count(**_kwargs: Any) -> None:
        ended.append(1)

    request_finished.connect(count)
    yield ended
    request_finished.disconnect(count)


def call(path_info: str) -> tuple[list[Any], Any]:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append((status, dict(headers)))

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    return started, application(environ, start_response)


def test_an_answer_in_memory_is_a_one_item_list_and_the_request_is_over(
    finished: list[int],
) -> None:
    started, body = call("/healthz")
    assert started[0][0] == "200 OK"
    assert isinstance(body, list) and len(body) == 1
    assert orjson.loads(body[0])["status"] == "ok"
    assert int(started[0][1]["Content-Length"]) == len(body[0])
    assert finished == [1]  # closed before the server sends it


@pytest.mark.urls("tests.test_wsgi")
def test_a_stream_is_left_to_the_server(finished: list[int]) -> None:
    started, body = call("/stream")
    assert started[0][0] == "200 OK"
    assert not isinstance(body, list)
    assert b"".join(body) == b"one,two"
    assert finished == []  # the server closes it once sent, which ends the request
    body.close()
    assert finished == [1]
