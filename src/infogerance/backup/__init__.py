"""The backup engine: repositories in the restic repository format, version 2.

A pure library (no Django): `repository` opens and creates repositories, `archiver`
backs up directory trees, `restorer` restores snapshots, `check` verifies repositories,
`retention` and `prune` forget snapshots and reclaim space, `locks` coordinates
processes. `cli` exposes it as ``infogerance backup …``. See docs/backup.md.
"""

from __future__ import annotations
