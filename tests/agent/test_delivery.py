"""Delivery against a real HTTP server on 127.0.0.1: outages, replays, refusals, TLS."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from infogerance.agent import AgentError
from infogerance.agent.client import (
    AgentConfig,
    AuthError,
    Backoff,
    Delivery,
    TransientError,
    Transport,
    deliver_with_retries,
    enroll,
    load_config,
    rejected_index,
    save_config,
)
from infogerance.agent.spool import Spool

from .conftest import CREDENTIAL, TOKEN, FakeServer, Pki, free_port

T0 = 1_800_000_000.0


def fill(spool: Spool, n: int) -> list[str]:
    """n reports of mixed kinds; returns their ids in sequence order."""
    ids = []
    for i in range(n):
        kind = ("heartbeat", "heartbeat", "performance", "inventory")[i % 4]
        data = {"hostname": "h", "os": {"family": "linux", "name": "x", "version": "1"}}
        if kind == "heartbeat":
            data = {"uptime_seconds": i, "cpu_percent": 1.0, "memory_percent": 2.0}
        elif kind == "performance":
            data = {"window_start": "2027-01-15T08:00:00Z", "window_end": "2027-01-15T08:15:00Z",
                    "samples": 1}  # fmt: skip
        ids.append(spool.add(kind, data, T0 + i)["report_id"])
    return ids


def config_for(server: FakeServer, **changes: object) -> AgentConfig:
    values: dict[str, object] = {
        "server": server.url,
        "agent_id": "agent1",
        "credential": CREDENTIAL,
    }
    values.update(changes)
    return AgentConfig(**values)  # type: ignore[arg-type]


def test_outage_then_503_then_accepted_every_report_once_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    ids = fill(spool, 250)
    server = FakeServer(port=free_port(), plan=[503, 503])  # not started: connection refused
    delivery = Delivery(config_for(server), spool)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the server comes up after two refused connections
            server.start()

    try:
        delivered = deliver_with_retries(delivery, attempts=10, sleep=sleep, backoff=Backoff(1, 8))
    finally:
        server.stop()
    assert delivered == 250
    assert len(sleeps) == 4  # refused, refused, 503, 503, then accepted
    assert [path for path, _ in server.requests[:2]] == ["/api/agent/v1/reports"] * 2
    assert [status for _, status in server.requests] == [503, 503, 200, 200, 200]
    assert server.batches == [100, 100, 50]
    assert server.order == ids  # every report once, in the order made
    assert server.stored_sequences() == list(range(1, 251))
    assert server.duplicates == 0
    assert len(spool) == 0 and spool.state["last_delivered_sequence"] == 250


def test_a_replay_after_a_lost_answer_is_harmless(tmp_path: Path, fake_server: FakeServer) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    ids = fill(spool, 150)
    fake_server.fail_after_store = [500]  # stores the first batch, then "crashes" before answering
    delivery = Delivery(config_for(fake_server), spool)
    with pytest.raises(TransientError, match="500"):
        delivery.flush()
    assert len(spool) == 150  # nothing acknowledged: nothing forgotten
    assert delivery.flush() == 150
    assert fake_server.duplicates == 100  # the replayed batch, acknowledged as duplicate
    assert fake_server.order == ids and len(fake_server.stored) == 150


def test_a_spool_that_lost_its_counter_continues_after_the_server(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    fake_server.known_sequence = 40  # the server stored up to 40; the spool was wiped
    spool = Spool(tmp_path / "spool", sync=False)
    delivery = Delivery(config_for(fake_server), spool)
    assert delivery.synchronise() == 40
    fill(spool, 2)
    assert [e.sequence for e in spool.entries()] == [41, 42]
    assert Spool(tmp_path / "spool").sequence == 42
    delivery.flush()
    assert fake_server.stored_sequences() == [41, 42]
    assert delivery.synchronise() == 42  # never lowers a counter ahead of the server


def test_synchronise_with_a_revoked_credential(tmp_path: Path, fake_server: FakeServer) -> None:
    delivery = Delivery(config_for(fake_server, credential="x"), Spool(tmp_path, sync=False))
    with pytest.raises(AuthError, match="enrol again"):
        delivery.synchronise()


def test_429_and_retry_after(tmp_path: Path, fake_server: FakeServer) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    fill(spool, 3)
    fake_server.plan = [429]
    with pytest.raises(TransientError) as caught:
        Delivery(config_for(fake_server), spool).flush()
    assert "429" in str(caught.value)
    assert spool.state["last_error"].startswith("the server answered 429")


def test_401_asks_to_enrol_again_and_keeps_the_queue(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    fill(spool, 5)
    delivery = Delivery(config_for(fake_server, credential="iga_revoked"), spool)
    with pytest.raises(AuthError, match="enrol again"):
        delivery.flush()
    assert len(spool) == 5 and fake_server.stored == {}


def test_a_refused_report_is_set_aside_and_never_blocks_the_queue(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    ids = fill(spool, 10)
    bad = ids[6]
    fake_server.reject = lambda r: "data.hostname: required" if r["report_id"] == bad else None
    assert Delivery(config_for(fake_server), spool).flush() == 9
    assert fake_server.order == [i for i in ids if i != bad]
    rejected = spool.rejected()
    assert [p.name for p in rejected] == ["000000000007-performance.json"]
    reason = json.loads(rejected[0].with_name("000000000007-performance.reason.json").read_text())
    assert "reports[6].data.hostname: required" in reason["reason"]
    assert len(spool) == 0


def test_a_400_naming_no_report_is_resolved_one_by_one(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    spool = Spool(tmp_path / "spool", sync=False)
    ids = fill(spool, 5)
    bad = ids[3]
    fake_server.reject = lambda r: "invalid report" if r["report_id"] == bad else None
    fake_server.name_index = False
    Delivery(config_for(fake_server), spool).flush()
    assert fake_server.order == [i for i in ids if i != bad]
    assert fake_server.batches == [5, 1, 1, 1, 1, 1]  # the batch, then one by one
    assert [p.name for p in spool.rejected()] == ["000000000004-inventory.json"]


@pytest.mark.parametrize(
    ("payload", "text", "expected"),
    [
        ({"detail": "reports[3].data.software[12].name: required"}, "", 3),
        ({"errors": [{"index": 2, "loc": "reports[2].kind"}]}, "", 2),
        ({"detail": [{"loc": ["body", "payload", "reports", 4, "data"], "msg": "x"}]}, "", 4),
        ({"detail": "Invalid report", "errors": {"reports[5].data.os": ["required"]}}, "", 5),
        ({"detail": "reports: at most 100"}, "", None),
        (None, "reports[99] bad", None),  # out of the batch: ignored
    ],
)
def test_rejected_index(payload: object, text: str, expected: int | None) -> None:
    assert rejected_index(payload, text or json.dumps(payload), 10) == expected


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    transport = Transport("http://127.0.0.1:1/")
    assert transport.server == "http://127.0.0.1:1"
    with pytest.raises(AgentError, match="http:// or https://"):
        Transport("ftp://example.org")


# --- enrolment and the configuration file -------------------------------------------------


def test_enrol_and_config_file_mode_0600(tmp_path: Path, fake_server: FakeServer) -> None:
    identity = {
        "hostname": "web-01",
        "machine_id": "m1",
        "os": {"family": "linux", "name": "D", "version": "12"},
    }
    config = enroll(fake_server.url + "/", TOKEN, identity=identity)
    assert config.agent_id == "agent1" and config.credential == CREDENTIAL
    assert (
        config.asset_id == 7 and config.heartbeat_seconds == 30 and config.server == fake_server.url
    )
    sent = fake_server.enrolments[0]
    assert sent["hostname"] == "web-01" and sent["agent_version"] and sent["token"] == TOKEN
    path = tmp_path / "etc" / "agent.json"
    path.parent.mkdir()
    path.write_text("{}")
    os.chmod(path, 0o644)  # an old, too open file is replaced, not reused
    old_umask = os.umask(0)
    try:
        save_config(path, config)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == config
    assert "credential" not in repr(config)
    assert not list(path.parent.glob(".tmp-*"))


def test_enrol_refused_token(fake_server: FakeServer) -> None:
    with pytest.raises(AuthError, match="token refused"):
        enroll(fake_server.url, "wrong", identity={"hostname": "h", "os": {}})


def test_missing_config_says_to_enrol(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="enrol first"):
        load_config(tmp_path / "nope.json")


# --- TLS ----------------------------------------------------------------------------------


def test_self_signed_server_refused_by_default(tmp_path: Path, tls_server: FakeServer) -> None:
    identity = {"hostname": "h", "os": {"family": "linux", "name": "D", "version": "12"}}
    with pytest.raises(AgentError, match=r"could not be verified.*--ca-file"):
        enroll(tls_server.url, TOKEN, identity=identity)
    assert tls_server.enrolments == []


def test_private_ca_accepted_with_ca_file(tmp_path: Path, tls_server: FakeServer, pki: Pki) -> None:
    identity = {"hostname": "h", "os": {"family": "linux", "name": "D", "version": "12"}}
    config = enroll(tls_server.url, TOKEN, identity=identity, ca_file=str(pki.ca_file))
    assert config.ca_file == str(pki.ca_file.resolve()) and config.verify_tls
    spool = Spool(tmp_path / "spool", sync=False)
    ids = fill(spool, 3)
    assert Delivery(config, spool).flush() == 3
    assert tls_server.order == ids


def test_insecure_is_an_explicit_opt_out(tmp_path: Path, tls_server: FakeServer) -> None:
    identity = {"hostname": "h", "os": {"family": "linux", "name": "D", "version": "12"}}
    config = enroll(tls_server.url, TOKEN, identity=identity, verify_tls=False)
    assert config.verify_tls is False


def test_backoff_has_full_jitter_and_a_cap() -> None:
    import random

    backoff = Backoff(base=2, cap=60, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    bounds = [min(60, 2 * 2**i) for i in range(12)]
    assert all(0 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert max(delays[6:]) > 30  # it grows
    assert backoff.next_delay(minimum=100) == 100  # Retry-After wins when longer
    backoff.reset()
    assert backoff.next_delay() <= 2
