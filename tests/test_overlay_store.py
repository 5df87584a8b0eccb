from core.overlay_store import OverlayStore
from core.store import LocalStore


def test_overlay_reads_through_and_publishes_nothing_until_promoted(tmp_path):
    base = LocalStore(tmp_path)
    base.put_bytes("public/a.csv", b"old a")
    base.put_bytes("public/b.csv", b"old b")
    overlay = OverlayStore(base, "private/backfill/x")
    overlay.put_bytes("public/a.csv", b"new a")
    overlay.delete("public/b.csv")
    overlay.put_bytes("public/c.csv", b"new c")

    assert overlay.get_bytes("public/a.csv") == b"new a" and not overlay.exists("public/b.csv")
    assert overlay.list_keys("public/") == ["public/a.csv", "public/c.csv"]
    assert base.get_bytes("public/a.csv") == b"old a" and base.exists("public/b.csv")
    assert base.list_keys("public/") == ["public/a.csv", "public/b.csv"]

    assert overlay.changes() == (["public/a.csv", "public/c.csv"], ["public/b.csv"])
    overlay.promote()
    assert base.list_keys("public/") == ["public/a.csv", "public/c.csv"]
    assert base.get_bytes("public/a.csv") == b"new a"
    assert base.list_keys("private/") == []


def test_a_write_after_a_delete_revives_the_key(tmp_path):
    base = LocalStore(tmp_path)
    base.put_bytes("staging/p.parquet", b"1")
    overlay = OverlayStore(base, "private/backfill/y")
    overlay.delete("staging/p.parquet")
    overlay.put_bytes("staging/p.parquet", b"2")
    assert overlay.get_bytes("staging/p.parquet") == b"2"
    assert overlay.changes() == (["staging/p.parquet"], [])
