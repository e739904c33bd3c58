"""Reports as an agent sends them (docs/formats/agent.md), for the tests."""

from __future__ import annotations

import uuid
from typing import Any


def inventory(hostname: str = "web-01", software: int = 3, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hostname": hostname,
        "fqdn": f"{hostname}.example.org",
        "machine_id": "0f" * 16,
        "os": {
            "family": "linux",
            "name": "Debian GNU/Linux",
            "version": "12 (bookworm)",
            "id": "debian",
            "version_id": "12",
            "kernel": "6.1.0-28-amd64",
            "arch": "x86_64",
        },
        "uptime_seconds": 3600,
        "hardware": {
            "vendor": "Dell Inc.",
            "model": "PowerEdge R650",
            "serial": "SN-1",
            "cpu": {"model": "Xeon", "cores": 8, "threads": 16, "mhz": 2900.0},
            "memory_bytes": 32 * 2**30,
        },
        "disks": [
            {
                "device": "/dev/sda1",
                "mountpoint": "/",
                "fstype": "ext4",
                "total_bytes": 100 * 2**30,
                "used_bytes": 90 * 2**30,
                "free_bytes": 10 * 2**30,
            }
        ],
        "interfaces": [
            {"name": "eth0", "mac": "00:11:22:33:44:55", "up": True, "addresses": ["192.0.2.10/24"]}
        ],
        "software": [
            {"name": f"pkg{i}", "version": f"1.{i}", "publisher": "Debian", "source": "dpkg"}
            for i in range(software)
        ],
        "services": [{"name": "ssh.service", "state": "running", "enabled": True}],
        "ports": [{"protocol": "tcp", "address": "0.0.0.0", "port": 22, "process": "sshd"}],
        "users": [{"name": "alice", "uid": 1000, "shell": "/bin/bash"}],
        "updates": {"source": "apt", "count": 3, "security_count": 1, "packages": []},
    }
    data.update(extra)
    return data


def report(kind: str, sequence: int, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "format": "infogerance-agent/1",
        "report_id": str(uuid.uuid4()),
        "kind": kind,
        "sequence": sequence,
        "collected_at": "2026-11-28T10:00:00Z",
        "agent_version": "0.1.0",
        "data": data,
        **extra,
    }


def heartbeat(sequence: int, cpu: float = 12.5) -> dict[str, Any]:
    return report(
        "heartbeat", sequence, {"uptime_seconds": 60, "cpu_percent": cpu, "memory_percent": 40.0}
    )


def performance(sequence: int) -> dict[str, Any]:
    stat = {"mean": 10.0, "p95": 30.0, "max": 50.0}
    return report(
        "performance",
        sequence,
        {
            "window_start": "2026-11-28T09:45:00Z",
            "window_end": "2026-11-28T10:00:00Z",
            "samples": 90,
            "cpu_percent": stat,
            "memory_percent": {"mean": 40.0, "p95": 42.0, "max": 44.0},
        },
    )
