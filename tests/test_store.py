import pytest

from core.store import LocalStore, RawOverwriteError, StoreError, open_store, put_if_changed, put_raw


def test_keys_must_live_in_a_zone(tmp_path):
    store = LocalStore(tmp_path)
    for bad in ("elsewhere/file", "public/../raw/x", "/public/x", "public//x"):
        with pytest.raises(StoreError):
            store.put_bytes(bad, b"x")


def test_raw_is_write_once(tmp_path):
    store = LocalStore(tmp_path)
    assert put_raw(store, "raw/a/b.json", b"{}") is True
    assert put_raw(store, "raw/a/b.json", b"{}") is False
    with pytest.raises(RawOverwriteError):
        put_raw(store, "raw/a/b.json", b"{changed}")
    assert store.get_bytes("raw/a/b.json") == b"{}"


def test_put_if_changed_leaves_identical_files_alone(tmp_path):
    store = LocalStore(tmp_path)
    assert put_if_changed(store, "public/f.csv", b"a\n")
    mtime = (tmp_path / "public/f.csv").stat().st_mtime_ns
    assert not put_if_changed(store, "public/f.csv", b"a\n")
    assert (tmp_path / "public/f.csv").stat().st_mtime_ns == mtime


def test_listing_skips_temporary_files_and_respects_prefix(tmp_path):
    store = open_store(str(tmp_path))
    store.put_bytes("public/actes/x.csv", b"1")
    store.put_bytes("public/actes-other/y.csv", b"2")
    (tmp_path / "public/actes/.tmp-partial").write_bytes(b"half")
    assert store.list_keys("public/actes/") == ["public/actes/x.csv"]
    assert store.list_keys("public/actes") == ["public/actes-other/y.csv", "public/actes/x.csv"]


def test_missing_object_names_the_key(tmp_path):
    store = LocalStore(tmp_path)
    with pytest.raises(FileNotFoundError, match="public/none.csv"):
        store.get_bytes("public/none.csv")
    store.put_bytes("public/folder/x.csv", b"1")
    with pytest.raises(FileNotFoundError, match="public/folder"):
        store.get_bytes("public/folder")
    with pytest.raises(FileNotFoundError, match="public/folder/x.csv/y"):
        store.get_bytes("public/folder/x.csv/y")


def test_a_folder_removed_under_a_store_is_made_again_at_its_next_write(tmp_path):
    """The store remembers the folders it made (one look-up per folder, not per write): an engineer
    removing one, or the temporaries' folder, while a run holds the store must not fail its writes."""
    import shutil

    store = LocalStore(tmp_path)
    store.put_bytes("public/a/b/one.json", b"1")
    shutil.rmtree(tmp_path / "public")
    shutil.rmtree(tmp_path / LocalStore.TEMPORARIES)
    store.put_bytes("public/a/b/two.json", b"2")
    assert store.get_bytes("public/a/b/two.json") == b"2"
    shutil.rmtree(tmp_path / "public/a")
    store.put_bytes("public/a/b/three.json", b"3")
    assert store.list_keys("public/") == ["public/a/b/three.json"]
    assert list((tmp_path / LocalStore.TEMPORARIES).iterdir()) == [], "no temporary left behind"


@pytest.mark.parametrize("linkable", [True, False])
def test_a_throwaway_store_links_a_local_file_or_copies_it(tmp_path, monkeypatch, linkable):
    """``digor convert`` takes a large export into its store without copying it where it can; what it
    reads is the file's bytes either way, and removing the store leaves the file as it was."""
    import errno
    import shutil

    source = tmp_path / "export.json"
    source.write_bytes(b'{"marches": []}')
    if not linkable:
        def cross_device(*_):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        monkeypatch.setattr("core.store.os.link", cross_device)
    store = LocalStore(tmp_path / "store", link_files=True)
    put_raw(store, "raw/decp/cli/date=2025-06-01/export.json", source)
    assert store.get_bytes("raw/decp/cli/date=2025-06-01/export.json") == b'{"marches": []}'
    assert source.stat().st_nlink == (2 if linkable else 1)
    assert not list((tmp_path / "store" / LocalStore.TEMPORARIES).iterdir())
    shutil.rmtree(tmp_path / "store")
    assert source.read_bytes() == b'{"marches": []}' and source.stat().st_nlink == 1


@pytest.mark.parametrize("throwaway", [True, False])
def test_a_copy_is_a_link_in_a_throwaway_store_only(tmp_path, throwaway):
    """A throwaway store's copy (a stable name of a version) is a hard link: the same bytes, not written
    again; replacing either object later leaves the other as it was. Any other store copies."""
    store = LocalStore(tmp_path / "store", link_files=throwaway)
    store.put_bytes("public/decp/decp-2024-v1.csv", b"a,b\n1,2\n")
    store.copy("public/decp/decp-2024-v1.csv", "public/decp/decp-2024.csv")
    assert store.get_bytes("public/decp/decp-2024.csv") == b"a,b\n1,2\n"
    assert (tmp_path / "store/public/decp/decp-2024.csv").stat().st_nlink == (2 if throwaway else 1)
    store.put_bytes("public/decp/decp-2024.csv", b"a,b\n3,4\n")
    assert store.get_bytes("public/decp/decp-2024-v1.csv") == b"a,b\n1,2\n"
    with pytest.raises(FileNotFoundError):
        store.copy("public/decp/absent.csv", "public/decp/other.csv")
    assert not list((tmp_path / "store" / LocalStore.TEMPORARIES).iterdir())
