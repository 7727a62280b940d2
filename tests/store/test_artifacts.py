"""The content-addressed artifact store: every behaviour on every backend (`store` runs once per kind
in `tests/store/stores.KINDS`), then what is particular to choosing and to each backend."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_mreg.errors import IntegrityError, StorageError
from jupyter_mreg.store import ArtifactStore
from jupyter_mreg.store import artifacts as artifacts_module
from jupyter_mreg.store.backends import FsspecBackend, LocalBackend, open_backend
from tests.store.stores import KINDS, files_in, open_store, read_raw, set_mtime, tamper, write_raw


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _files_under(folder):
    return sorted(
        os.path.relpath(os.path.join(d, f), folder).replace(os.sep, "/") for d, _, fs in os.walk(folder) for f in fs
    )


# -- writing -----------------------------------------------------------------------------------------


def test_put_file_stores_content_under_its_sha(store, tmp_path):
    data = b"model bytes" * 1000
    sha, size = store.put_file(_write(tmp_path / "m.pkl", data))
    assert (sha, size) == (_sha(data), len(data))
    assert read_raw(store, f"objects/{sha[:2]}/{sha}") == data
    assert files_in(store) == [f"objects/{sha[:2]}/{sha}"]  # no tmp file left


def test_putting_the_same_content_twice_stores_it_once(store, tmp_path):
    data = b"same" * 10
    first = store.put_file(_write(tmp_path / "a.bin", data))
    second = store.put_file(_write(tmp_path / "other" / "b.bin", data))
    assert first == second
    assert [sha for sha, _, _ in store.iter_objects()] == [first[0]]
    assert list(store.iter_tmp()) == []


@pytest.mark.parametrize("progress", [False, True], ids=["quiet", "with-callback"])
def test_putting_existing_content_refreshes_its_mtime(store, tmp_path, progress):
    src = _write(tmp_path / "a.bin", b"x" * 100)
    sha, _ = store.put_file(src)
    old = time.time() - 3600
    set_mtime(store, store.object_path(sha), old)
    assert store.stat(sha) == (100, pytest.approx(old))
    store.put_file(src, callback=(lambda n: None) if progress else None)
    assert store.stat(sha)[1] > time.time() - 60
    assert read_raw(store, f"objects/{sha[:2]}/{sha}") == b"x" * 100
    assert files_in(store) == [f"objects/{sha[:2]}/{sha}"]


def test_put_file_streams_large_files_in_chunks(store, tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts_module, "CHUNK_SIZE", 1000)
    data = os.urandom(10_500)
    seen = []
    sha, size = store.put_file(_write(tmp_path / "big.bin", data), callback=seen.append)
    assert (sha, size) == (_sha(data), 10_500)
    assert seen == [1000] * 10 + [500]


def test_a_failed_put_leaves_no_temporary_file(store, tmp_path):
    with pytest.raises(StorageError, match="does-not-exist"):
        store.put_file(tmp_path / "does-not-exist.bin")
    assert list(store.iter_tmp()) == []
    assert list(store.iter_objects()) == []


def test_put_file_names_the_temporary_file_after_the_upload(store, tmp_path, monkeypatch):
    names = []
    real_install = ArtifactStore._install

    def spy(self, tmp, sha):
        names.append(tmp.rsplit("/", 1)[1])
        return real_install(self, tmp, sha)

    monkeypatch.setattr(ArtifactStore, "_install", spy)
    store.put_file(_write(tmp_path / "a.bin", b"a"), upload_id="1234-abcd")
    assert len(names) == 1 and names[0].startswith("1234-abcd.")


def test_put_tree_records_every_file_by_relative_posix_path(store, tmp_path):
    folder = tmp_path / "pkg"
    _write(folder / "MANIFEST.yml", b"manifest")
    _write(folder / "model" / "weights.bin", b"weights")
    _write(folder / "model" / "copy.bin", b"weights")  # same content: one object
    (folder / "empty").mkdir()
    files = store.put_tree(folder)
    assert files == {
        "MANIFEST.yml": (_sha(b"manifest"), 8),
        "model/copy.bin": (_sha(b"weights"), 7),
        "model/weights.bin": (_sha(b"weights"), 7),
    }
    assert sorted(sha for sha, _, _ in store.iter_objects()) == sorted({_sha(b"manifest"), _sha(b"weights")})
    assert store.put_tree(folder) == files  # again: the same record, nothing new stored
    assert len(files_in(store)) == 2


def test_put_tree_of_a_missing_folder_is_a_storage_error(store, tmp_path):
    with pytest.raises(StorageError, match="nowhere"):
        store.put_tree(tmp_path / "nowhere")


def test_put_tree_progress_bar_when_asked_or_large(store, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "pkg"
    _write(folder / "a.bin", b"a" * 2000)
    store.put_tree(folder)
    assert "Uploading" not in capsys.readouterr().err  # small: no bar
    store.put_tree(folder, progress=True)
    assert "Uploading files" in capsys.readouterr().err
    monkeypatch.setattr(artifacts_module, "AUTO_PROGRESS_BYTES", 1000)
    store.put_tree(folder)
    assert "Uploading files" in capsys.readouterr().err  # over the threshold: automatic
    store.put_tree(folder, progress=False)
    assert "Uploading" not in capsys.readouterr().err


def test_changing_the_source_file_later_leaves_the_stored_object_alone(store, tmp_path):
    src = _write(tmp_path / "m.bin", b"as logged")
    sha, _ = store.put_file(src)
    with open(src, "ab") as f:
        f.write(b" and changed")
    assert store.verify(sha)
    assert read_raw(store, f"objects/{sha[:2]}/{sha}") == b"as logged"


# -- reading -----------------------------------------------------------------------------------------


def test_get_file_copies_and_verifies(store, tmp_path):
    data = os.urandom(5000)
    sha, size = store.put_file(_write(tmp_path / "m.bin", data))
    dest = tmp_path / "out" / "deep" / "m.bin"
    store.get_file(sha, dest, size=size)
    assert dest.read_bytes() == data


def test_a_tampered_object_is_refused(store, tmp_path):
    sha, size = store.put_file(_write(tmp_path / "m.bin", b"original"))
    tamper(store, sha, lambda old: old + b"!")
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError) as info:
        store.get_file(sha, dest, size=size)
    message = str(info.value)
    assert sha in message
    assert _sha(b"original!") in message  # what was found
    assert "immutable" in message and "outside jupyter_mreg" in message
    assert "backup" in message and "delete the version" in message
    assert not dest.exists()
    assert store.verify(sha) is False


def test_a_wrong_size_is_refused(store, tmp_path):
    sha, size = store.put_file(_write(tmp_path / "m.bin", b"12345"))
    with pytest.raises(IntegrityError, match="expected sha256 .* and 6 bytes, found .* and 5 bytes"):
        store.get_file(sha, tmp_path / "out.bin", size=6)
    assert not (tmp_path / "out.bin").exists()


def test_a_missing_object_is_an_integrity_error(store, tmp_path):
    sha = _sha(b"never stored")
    with pytest.raises(IntegrityError, match=f"{sha}.*missing") as info:
        store.get_file(sha, tmp_path / "out.bin", label="model/weights.bin")
    assert "model/weights.bin" in str(info.value)
    assert store.object_path(sha) in str(info.value)  # where it was expected
    assert not (tmp_path / "out.bin").exists()


def test_a_malformed_sha_is_an_integrity_error(store, tmp_path):
    with pytest.raises(IntegrityError, match="not a SHA-256"):
        store.get_file("../../etc/passwd", tmp_path / "out.bin")


def test_materialize_writes_every_file_verified(store, tmp_path):
    folder = tmp_path / "pkg"
    _write(folder / "MANIFEST.yml", b"manifest")
    _write(folder / "model" / "sub" / "w.bin", b"weights")
    files = store.put_tree(folder)
    out = tmp_path / "out"
    assert store.materialize(files, out) == str(out)
    assert (out / "MANIFEST.yml").read_bytes() == b"manifest"
    assert (out / "model" / "sub" / "w.bin").read_bytes() == b"weights"
    # The {path: sha} form works too.
    out2 = tmp_path / "out2"
    store.materialize({path: sha for path, (sha, _) in files.items()}, out2)
    assert _files_under(out2) == ["MANIFEST.yml", "model/sub/w.bin"]


def test_materialize_removes_what_it_wrote_when_a_file_is_bad(store, tmp_path):
    good = store.put_file(_write(tmp_path / "a.bin", b"good"))
    bad = store.put_file(_write(tmp_path / "b.bin", b"bad"))
    tamper(store, bad[0], lambda old: b"BAD")
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match="'z/b.bin'"):
        store.materialize({"a.bin": good, "z/b.bin": bad}, out)
    assert _files_under(out) == []


@pytest.mark.parametrize("path", ["../escape.bin", "/etc/passwd", "a/../../b", ""])
def test_materialize_refuses_paths_outside_the_folder(store, tmp_path, path):
    sha = store.put_file(_write(tmp_path / "a.bin", b"a"))
    with pytest.raises(IntegrityError, match="not a relative path"):
        store.materialize({path: sha}, tmp_path / "out")
    assert not (tmp_path / "escape.bin").exists()


def test_writing_to_a_materialized_file_leaves_the_stored_object_alone(store, tmp_path):
    # A loaded model or a user may write into the version folder: it must hold copies, never links.
    sha, size = store.put_file(_write(tmp_path / "w.bin", b"weights"))
    out = tmp_path / "out"
    store.materialize({"w.bin": (sha, size), "again.bin": (sha, size)}, out)
    with open(out / "w.bin", "r+b") as f:
        f.write(b"W")
    (out / "again.bin").write_bytes(b"rewritten")
    assert store.verify(sha)
    assert read_raw(store, f"objects/{sha[:2]}/{sha}") == b"weights"
    store.get_file(sha, tmp_path / "fresh.bin", size=size)
    assert (tmp_path / "fresh.bin").read_bytes() == b"weights"
    assert os.stat(out / "w.bin").st_nlink == 1 and os.stat(out / "again.bin").st_nlink == 1


# -- listing, removal --------------------------------------------------------------------------------


def test_iter_objects_exists_delete_verify(store, tmp_path):
    sha, size = store.put_file(_write(tmp_path / "a.bin", b"abc"))
    listed = list(store.iter_objects())
    assert [(s, n) for s, n, _ in listed] == [(sha, 3)]
    assert abs(listed[0][2] - time.time()) < 60
    assert store.exists(sha) and store.verify(sha)
    assert store.stat(sha)[0] == 3
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    assert not store.exists(sha) and not store.verify(sha) and store.stat(sha) is None
    assert list(store.iter_objects()) == []


def test_iter_objects_ignores_foreign_files(store, tmp_path):
    sha, _ = store.put_file(_write(tmp_path / "a.bin", b"abc"))
    write_raw(store, "objects/zz/notes.txt", b"x")
    write_raw(store, f"objects/00/{sha}", b"abc")  # wrong prefix folder
    assert [s for s, _, _ in store.iter_objects()] == [sha]


def test_iter_tmp_and_delete_tmp(store, tmp_path):
    write_raw(store, "tmp/leftover", b"partial")
    (name, mtime), = list(store.iter_tmp())
    assert name == "leftover" and abs(mtime - time.time()) < 60
    assert store.delete_tmp("leftover") is True
    assert store.delete_tmp("leftover") is False
    assert list(store.iter_tmp()) == []
    with pytest.raises(StorageError):
        store.delete_tmp("../objects")


def test_a_round_trip_through_every_operation(store, tmp_path):
    folder = tmp_path / "pkg"
    _write(folder / "MANIFEST.yml", b"manifest")
    _write(folder / "model" / "w.bin", b"weights")
    files = store.put_tree(folder)
    again = store.put_tree(folder)
    assert files == again
    listed = sorted((s, n) for s, n, _ in store.iter_objects())
    assert listed == sorted([(_sha(b"manifest"), 8), (_sha(b"weights"), 7)])
    assert all(abs(m - time.time()) < 60 for _, _, m in store.iter_objects())
    assert list(store.iter_tmp()) == []
    store.materialize(files, tmp_path / "out")
    assert (tmp_path / "out" / "model" / "w.bin").read_bytes() == b"weights"
    sha = files["model/w.bin"][0]
    assert store.exists(sha) and store.verify(sha)
    assert store.delete(sha) and not store.exists(sha)
    with pytest.raises(IntegrityError, match=sha):
        store.get_file(sha, tmp_path / "gone.bin")


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=700))
def test_any_content_round_trips(kind, data, chunk):
    original = artifacts_module.CHUNK_SIZE
    artifacts_module.CHUNK_SIZE = chunk
    try:
        with tempfile.TemporaryDirectory() as d, open_store(kind, Path(d)) as store:
            src = os.path.join(d, "src.bin")
            with open(src, "wb") as f:
                f.write(data)
            sha, size = store.put_file(src)
            assert (sha, size) == (_sha(data), len(data))
            out = os.path.join(d, "out.bin")
            store.get_file(sha, out, size=size)
            with open(out, "rb") as f:
                assert f.read() == data
    finally:
        artifacts_module.CHUNK_SIZE = original


# -- choosing a backend ------------------------------------------------------------------------------


def test_a_plain_path_and_a_file_url_are_the_same_local_store(tmp_path):
    by_path = ArtifactStore(str(tmp_path / "art"))
    by_url = ArtifactStore((tmp_path / "art").as_uri())
    assert isinstance(by_path.backend, LocalBackend) and isinstance(by_url.backend, LocalBackend)
    assert by_path.root == by_url.root
    assert isinstance(by_url.fs, LocalFileSystem)
    sha, _ = by_url.put_file(_write(tmp_path / "a.bin", b"abc"))
    assert (tmp_path / "art" / "objects" / sha[:2] / sha).read_bytes() == b"abc"
    assert by_path.exists(sha)


def test_any_other_fsspec_url_gets_the_fsspec_backend():
    backend = open_backend("memory://mreg-choose/prefix")
    assert isinstance(backend, FsspecBackend)
    assert backend.root == "/mreg-choose/prefix"
    assert ArtifactStore("memory://mreg-choose/prefix").object_path("a" * 64) == (
        f"/mreg-choose/prefix/objects/aa/{'a' * 64}"
    )


def test_a_backend_handed_in_is_the_one_used(tmp_path):
    backend = FsspecBackend(LocalFileSystem(), str(tmp_path / "art"))
    store = ArtifactStore("my-store", backend=backend)
    assert store.backend is backend and store.url == "my-store"
    sha, _ = store.put_file(_write(tmp_path / "a.bin", b"abc"))
    assert (tmp_path / "art" / "objects" / sha[:2] / sha).read_bytes() == b"abc"


def test_an_unknown_protocol_is_a_storage_error():
    with pytest.raises(StorageError, match="nosuchproto://bucket"):
        ArtifactStore("nosuchproto://bucket/prefix")


# -- what is stored stays readable, whichever backend wrote it -----------------------------------------


def test_both_backends_write_and_read_the_same_folder_layout(tmp_path):
    folder = tmp_path / "pkg"
    _write(folder / "MANIFEST.yml", b"manifest")
    _write(folder / "model" / "w.bin", b"weights")
    path = str(tmp_path / "artifacts")
    local = ArtifactStore(path)
    remote = ArtifactStore(path, backend=FsspecBackend(LocalFileSystem(), path))
    files = remote.put_tree(folder)
    assert local.put_tree(folder) == files
    assert _files_under(path) == sorted(f"objects/{sha[:2]}/{sha}" for sha, _ in files.values())
    for reader in (local, remote):
        assert sorted(s for s, _, _ in reader.iter_objects()) == sorted(sha for sha, _ in files.values())
        out = tmp_path / f"out-{id(reader)}"
        reader.materialize(files, out)
        assert (out / "model" / "w.bin").read_bytes() == b"weights"


def test_a_store_written_by_hand_in_the_documented_layout_opens(store, tmp_path):
    # The layout is the contract with registries already written: objects/<sha[:2]>/<sha>, tmp/<name>.
    sha = _sha(b"written by an earlier release")
    write_raw(store, f"objects/{sha[:2]}/{sha}", b"written by an earlier release")
    write_raw(store, "tmp/1234-abcd.ffff", b"partial")
    assert [(s, n) for s, n, _ in store.iter_objects()] == [(sha, 29)]
    assert [name for name, _ in store.iter_tmp()] == ["1234-abcd.ffff"]
    store.get_file(sha, tmp_path / "out.bin", size=29)
    assert (tmp_path / "out.bin").read_bytes() == b"written by an earlier release"


# -- what is particular to each backend ----------------------------------------------------------------


def _count_calls(monkeypatch, obj, name):
    calls = []
    real = getattr(obj, name)

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, counting)
    return calls


def test_the_local_backend_hashes_a_small_stored_file_before_copying_it(tmp_path, monkeypatch):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    src = _write(tmp_path / "a.bin", b"small")
    sha, _ = store.put_file(src)
    old = time.time() - 3600
    os.utime(store.object_path(sha), (old, old))
    writes = _count_calls(monkeypatch, store.backend, "open_write")
    assert store.put_file(src) == (sha, 5)
    assert writes == []  # no copy: the content was found stored and marked in use
    assert os.stat(store.object_path(sha)).st_mtime > time.time() - 60
    store.put_file(src, callback=lambda n: None)  # a progress bar counts the bytes of a real copy
    assert len(writes) == 1


def test_the_fsspec_backend_makes_each_folder_once(monkeypatch, tmp_path):
    with open_store("fsspec-memory", tmp_path) as store:
        made = _count_calls(monkeypatch, store.fs, "makedirs")
        for i in range(3):
            store.put_file(_write(tmp_path / f"{i}.bin", b"same content"))
        sha = hashlib.sha256(b"same content").hexdigest()
        # Three puts, one tmp/ and one objects/<sha[:2]>/: each is a round trip on an object store.
        assert sorted(path for path, *_ in made) == [f"{store.root}/objects/{sha[:2]}", f"{store.root}/tmp"]
