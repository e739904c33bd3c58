"""Incremental runs: what an unchanged run writes (nothing), what it reads (no file), and
that its trees are byte for byte what a backup reading every file would write."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from pathlib import Path

import orjson
import pytest

from infogerance.backup.archiver import Archiver, backup
from infogerance.backup.backend import FileKind
from infogerance.backup.check import read_pack_header
from infogerance.backup.formats import Node, Snapshot, decode_tree, encode_tree
from infogerance.backup.pack import BlobType
from infogerance.backup.repository import Repository
from infogerance.backup.restorer import find_node, restore
from infogerance.backup.writer import BlobWriter


def _names(repo: Repository, kind: FileKind) -> set[str]:
    return {name for name, _ in repo.backend.list(kind)}


def _pin_atimes(root: Path) -> None:
    """Access times in the future, so that reading the files does not change them (relatime)
    and an unchanged run really is unchanged."""
    future = time.time_ns() + 3600 * 10**9
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            os.utime(path, ns=(future, st.st_mtime_ns), follow_symlinks=False)
    os.utime(root, ns=(future, os.lstat(root).st_mtime_ns))


def _source(tmp_path: Path, dataset: Path) -> Path:
    source = tmp_path / "src"
    shutil.copytree(dataset, source, symlinks=True)
    _pin_atimes(source)
    return source


def _subtree(repo: Repository, snapshot: Snapshot, path: Path) -> bytes:
    _, node = find_node(repo, snapshot.tree, str(path))
    assert node is not None and node.subtree is not None
    return node.subtree


def _ancestors(repo: Repository, snapshot: Snapshot, path: Path) -> list[Node]:
    """The nodes of the directories above `path` (and its own), without their subtrees."""
    nodes = []
    tree = snapshot.tree
    for part in path.parts[1:]:
        node = next(n for n in repo.load_tree(tree) if n.name == part)
        assert node.subtree is not None
        tree = node.subtree
        nodes.append(dataclasses.replace(node, subtree=None))
    return nodes


def _all_trees(repo: Repository, tree_id: bytes) -> list[bytes]:
    found = [tree_id]
    for node in repo.load_tree(tree_id):
        if node.subtree is not None:
            found += _all_trees(repo, node.subtree)
    return found


def test_unchanged_run_writes_nothing_and_reads_no_file(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    source = _source(tmp_path, dataset)
    first, _ = backup(repo, [str(source)])
    packs, indexes = _names(repo, FileKind.DATA), _names(repo, FileKind.INDEX)

    second, stats = backup(repo, [str(source)])
    assert second.parent == first.id
    assert stats.files_read == 0 and stats.bytes_read == 0
    assert stats.files_unmodified == stats.files > 200
    assert _subtree(repo, second, source) == _subtree(repo, first, source)
    # Only the directories above the source (/tmp, …) may have changed meanwhile, and
    # then only their trees are new; when they did not, nothing at all is written.
    if _ancestors(repo, first, source) == _ancestors(repo, second, source):
        assert second.tree == first.tree
        assert stats.blobs_added == 0 and stats.pack_bytes_written == 0
        assert _names(repo, FileKind.DATA) == packs
        assert _names(repo, FileKind.INDEX) == indexes
    else:
        assert stats.blobs_added <= len(source.parts)
        sizes = dict(repo.backend.list(FileKind.DATA))
        for pack in set(sizes) - packs:
            assert {b.type for b in read_pack_header(repo, pack, sizes[pack])} == {BlobType.TREE}


def test_incremental_trees_are_those_of_a_full_read(
    tmp_path: Path, dataset: Path, repo: Repository
) -> None:
    """The trees of an unchanged run (the parent's content lists, taken without reading)
    are byte for byte what a run reading every file writes, and canonical."""
    source = _source(tmp_path, dataset)
    backup(repo, [str(source)])
    incremental, stats = backup(repo, [str(source)])
    assert stats.files_read == 0
    full, stats = backup(repo, [str(source)], parent=None)
    assert stats.files_read == stats.files
    assert _subtree(repo, incremental, source) == _subtree(repo, full, source)
    for tree_id in _all_trees(repo, _subtree(repo, incremental, source)):
        data = repo.read_blob(BlobType.TREE, tree_id)
        assert encode_tree(decode_tree(data)) == data


def test_same_size_and_mtime_with_another_inode_is_read_again(
    tmp_path: Path, repo: Repository
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    target_file = source / "f.txt"
    target_file.write_bytes(b"first version\n" * 100)
    backup(repo, [str(source)])
    st = target_file.stat()
    # Replaced by rename (editors and package managers do this): same size, same mtime.
    replacement = source / "f.txt.new"
    replacement.write_bytes(b"other version\n" * 100)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    replacement.rename(target_file)
    assert target_file.stat().st_ino != st.st_ino
    assert target_file.stat().st_size == st.st_size

    second, stats = backup(repo, [str(source)])
    assert stats.files_read == 1 and stats.files_changed == 1
    out = tmp_path / "out"
    restore(repo, second, str(out))
    assert (out / source.relative_to("/") / "f.txt").read_bytes() == b"other version\n" * 100


def test_file_whose_blob_left_the_index_is_read_again(
    tmp_path: Path, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged metadata is not enough: the parent's blobs must still be indexed."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_bytes(b"a" * 1000)
    (source / "b.txt").write_bytes(b"b" * 1000)
    first, _ = backup(repo, [str(source)])
    _, node = find_node(repo, first.tree, str(source / "a.txt"))
    assert node is not None and node.content
    gone = node.content[0]
    index = repo.index
    original = index.missing
    monkeypatch.setattr(index, "missing", lambda t, ids: original(t, ids) | ({gone} & set(ids)))
    _, stats = backup(repo, [str(source)])
    assert stats.files_read == 1 and stats.files_unmodified == 1


def test_parent_nodes_are_read_leniently(tmp_path: Path, repo: Repository) -> None:
    """A parent tree written by another program, or damaged, only costs reading files."""
    good = os.urandom(32)
    writer = BlobWriter(repo)
    writer.add(BlobType.DATA, good, repo.seal_blob(b"x")[0], 0)
    nodes = [
        {"name": "bad-id", "type": "file", "content": ["zz" * 32]},
        {"name": "dir", "type": "dir", "subtree": "not an id"},
        {"name": "good", "type": "file", "size": 1, "inode": 5, "content": [good.hex()]},
        {"name": "missing", "type": "file", "content": [os.urandom(32).hex()]},
        {"name": 7, "type": "file"},
        {"name": "no-content", "type": "file"},
    ]
    data = orjson.dumps({"nodes": nodes}) + b"\n"
    tree_id = hashlib.sha256(data).digest()
    writer.save(BlobType.TREE, tree_id, data)
    writer.flush()
    parent = Archiver(repo)._parent_dir(tree_id)
    assert set(parent.nodes) == {"bad-id", "dir", "good", "missing", "no-content"}
    assert parent.contents == {"good": [good]}
    assert parent.subtree("dir") is None and parent.subtree("good") is None
