"""The content-addressed artifact store, on a local folder and through fsspec's memory:// backend."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_mreg.errors import IntegrityError, StorageError
from jupyter_mreg.store import ArtifactStore
from jupyter_mreg.store import artifacts as artifacts_module


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture
def memory_store():
    url = f"memory://mreg-test-{uuid.uuid4().hex}"
    s = ArtifactStore(url)
    yield s
    if s.fs.exists(s.root):
        s.fs.rm(s.root, recursive=True)


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
    obj = tmp_path / "artifacts" / "objects" / sha[:2] / sha
    assert obj.read_bytes() == data
    assert _files_under(tmp_path / "artifacts") == [f"objects/{sha[:2]}/{sha}"]  # no tmp file left


def test_putting_the_same_content_twice_stores_it_once(store, tmp_path):
    data = b"same" * 10
    first = store.put_file(_write(tmp_path / "a.bin", data))
    second = store.put_file(_write(tmp_path / "other" / "b.bin", data))
    assert first == second
    assert [sha for sha, _, _ in store.iter_objects()] == [first[0]]
    assert list(store.iter_tmp()) == []


def test_putting_existing_content_refreshes_its_mtime(store, tmp_path):
    src = _write(tmp_path / "a.bin", b"x" * 100)
    sha, _ = store.put_file(src)
    obj = store.object_path(sha)
    old = time.time() - 3600
    os.utime(obj, (old, old))
    store.put_file(src)
    assert os.stat(obj).st_mtime > time.time() - 60
    assert open(obj, "rb").read() == b"x" * 100


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


# -- reading -----------------------------------------------------------------------------------------


def test_get_file_copies_and_verifies(store, tmp_path):
    data = os.urandom(5000)
    sha, size = store.put_file(_write(tmp_path / "m.bin", data))
    dest = tmp_path / "out" / "deep" / "m.bin"
    store.get_file(sha, dest, size=size)
    assert dest.read_bytes() == data


def test_a_tampered_object_is_refused(store, tmp_path):
    sha, size = store.put_file(_write(tmp_path / "m.bin", b"original"))
    with open(store.object_path(sha), "ab") as f:
        f.write(b"!")
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
    with open(store.object_path(bad[0]), "wb") as f:
        f.write(b"BAD")
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
    _write(tmp_path / "artifacts" / "objects" / "zz" / "notes.txt", b"x")
    _write(tmp_path / "artifacts" / "objects" / "00" / sha, b"abc")  # wrong prefix folder
    assert [s for s, _, _ in store.iter_objects()] == [sha]


def test_iter_tmp_and_delete_tmp(store, tmp_path):
    _write(tmp_path / "artifacts" / "tmp" / "leftover", b"partial")
    (name, mtime), = list(store.iter_tmp())
    assert name == "leftover" and abs(mtime - time.time()) < 60
    assert store.delete_tmp("leftover") is True
    assert store.delete_tmp("leftover") is False
    assert list(store.iter_tmp()) == []
    with pytest.raises(StorageError):
        store.delete_tmp("../objects")


def test_file_url_is_a_local_store(tmp_path):
    s = ArtifactStore((tmp_path / "art").as_uri())
    sha, _ = s.put_file(_write(tmp_path / "a.bin", b"abc"))
    assert (tmp_path / "art" / "objects" / sha[:2] / sha).read_bytes() == b"abc"


def test_an_unknown_protocol_is_a_storage_error():
    with pytest.raises(StorageError, match="nosuchproto://bucket"):
        ArtifactStore("nosuchproto://bucket/prefix")


# -- through fsspec: memory:// ------------------------------------------------------------------------


def test_memory_store_round_trip(memory_store, tmp_path):
    folder = tmp_path / "pkg"
    _write(folder / "MANIFEST.yml", b"manifest")
    _write(folder / "model" / "w.bin", b"weights")
    files = memory_store.put_tree(folder)
    again = memory_store.put_tree(folder)
    assert files == again
    listed = sorted((s, n) for s, n, _ in memory_store.iter_objects())
    assert listed == sorted([(_sha(b"manifest"), 8), (_sha(b"weights"), 7)])
    assert all(abs(m - time.time()) < 60 for _, _, m in memory_store.iter_objects())
    assert list(memory_store.iter_tmp()) == []
    memory_store.materialize(files, tmp_path / "out")
    assert (tmp_path / "out" / "model" / "w.bin").read_bytes() == b"weights"
    sha = files["model/w.bin"][0]
    assert memory_store.exists(sha) and memory_store.verify(sha)
    assert memory_store.delete(sha) and not memory_store.exists(sha)
    with pytest.raises(IntegrityError, match=sha):
        memory_store.get_file(sha, tmp_path / "gone.bin")


def test_memory_store_detects_tampering(memory_store, tmp_path):
    sha, size = memory_store.put_file(_write(tmp_path / "a.bin", b"abc"))
    memory_store.fs.pipe_file(memory_store.object_path(sha), b"abcd")
    with pytest.raises(IntegrityError, match=sha):
        memory_store.get_file(sha, tmp_path / "out.bin", size=size)
    assert not (tmp_path / "out.bin").exists()
    assert memory_store.verify(sha) is False


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=700))
def test_any_content_round_trips(data, chunk):
    original = artifacts_module.CHUNK_SIZE
    artifacts_module.CHUNK_SIZE = chunk
    try:
        with tempfile.TemporaryDirectory() as d:
            store = ArtifactStore(os.path.join(d, "art"))
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
