"""SQLite message spool: order, ids, deletes of acknowledged rows, reopening."""

from __future__ import annotations

from kenshu.hardware_labs.spool import Spool


def messages(count: int) -> list[tuple[str, str]]:
    return [("site/line1/dev-1/env", f'{{"n": {n}}}') for n in range(count)]


def test_extend_returns_consecutive_ids(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    first = spool.extend(messages(3))
    second = spool.extend(messages(2))
    assert first == [1, 2, 3]
    assert second == [4, 5]
    assert spool.last_id() == 5
    assert [row[0] for row in spool.pending(after_id=2)] == [3, 4, 5]
    spool.close()


def test_delete_out_of_order_acknowledgements(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    ids = spool.extend(messages(10))
    spool.delete([ids[2], ids[0], ids[1], ids[7], ids[9], ids[9], 999])
    assert spool.count() == 5
    assert [row[0] for row in spool.pending()] == [4, 5, 6, 7, 9]
    spool.close()


def test_reopened_spool_keeps_rows_and_ids(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path)
    spool.extend(messages(4))
    spool.delete([1, 2, 3, 4])
    spool.extend(messages(2))
    spool.close()

    reopened = Spool(path)
    assert reopened.count() == 2
    assert [row[0] for row in reopened.pending()] == [5, 6]
    # AUTOINCREMENT never hands out an id again, even after its row was deleted.
    assert reopened.extend(messages(1)) == [7]
    reopened.close()


def test_empty_spool_last_id(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    assert spool.last_id() == 0
    spool.delete([])
    assert spool.count() == 0
    spool.close()
