"""load_sensor_csv on files as the shop floor writes them."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pytest

from kenshu.datasets import load_sensor_csv, make_process_log
from kenshu.datasets.sensor_csv import split_unit
from kenshu.errors import KenshuError

REALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"

JAPANESE_CSV = (
    "日時,設備,温度(℃),圧力[kPa],振動（mm/s）,備考\r\n"
    "2026-06-01 08:00:00,プレス①,25.1,101.3,1.2,㈱さくら精工\r\n"
    "2026-06-01 08:01:00,プレス①,25.4,101.1,1.3,\r\n"
    "2026-06-01 08:02:00,プレス②,26.0,100.9,1.1,点検済み\r\n"
)

# Same header layout as the AI4I 2020 predictive-maintenance file; the values are made up.
AI4I_LIKE = (
    "UDI,Product ID,Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],"
    "Torque [Nm],Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF\n"
    "1,M10001,M,298.0,308.5,1500,40.1,0,0,0,0,0,0,0\n"
    "2,L20002,L,298.3,308.9,1420,45.0,5,1,0,1,0,0,0\n"
)


def write(path: Path, text: str, encoding: str, *, bom: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    return path


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [("cp932", False, "cp932"), ("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig")],
)
def test_encoding_detected(tmp_path, encoding, bom, expected):
    frame = load_sensor_csv(write(tmp_path / "log.csv", JAPANESE_CSV, encoding, bom=bom))
    assert frame.attrs["encoding"] == expected
    assert list(frame.columns) == ["日時", "設備", "温度", "圧力", "振動", "備考"]
    assert frame["備考"].iloc[0] == "㈱さくら精工"
    assert frame["設備"].iloc[0] == "プレス①"


@pytest.mark.parametrize("declared", ["shift_jis", "Shift_JIS", "sjis", "cp932"])
def test_declared_shift_jis_reads_cp932(tmp_path, declared):
    frame = load_sensor_csv(write(tmp_path / "log.csv", JAPANESE_CSV, "cp932"), encoding=declared)
    assert frame["備考"].iloc[0] == "㈱さくら精工"


def test_declared_utf8_with_bom(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "log.csv", AI4I_LIKE, "utf-8", bom=True), encoding="utf-8")
    assert frame.columns[0] == "UDI"


def test_units_in_attrs(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "log.csv", JAPANESE_CSV, "utf-8"))
    assert frame.attrs["units"] == {"温度": "℃", "圧力": "kPa", "振動": "mm/s"}
    assert frame.attrs["original_columns"]["温度"] == "温度(℃)"
    assert frame.attrs["source"] == str(tmp_path / "log.csv")


def test_types_converted(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "log.csv", JAPANESE_CSV, "utf-8"))
    assert frame["温度"].dtype == np.float64
    assert frame["日時"].dtype.kind == "M"
    assert frame["備考"].isna().iloc[1]


@pytest.mark.parametrize(
    ("header", "name", "unit"),
    [
        ("Air temperature [K]", "Air temperature", "K"),
        ("温度(℃)", "温度", "℃"),
        ("圧力（kPa）", "圧力", "kPa"),
        ("荷重［kN］", "荷重", "kN"),
        ("Torque[Nm]", "Torque", "Nm"),
        ("Product ID", "Product ID", None),
        ("  回転数 (rpm) ", "回転数", "rpm"),
    ],
)
def test_split_unit(header, name, unit):
    assert split_unit(header) == (name, unit)


def test_bom_file_like_ai4i(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "ai4i.csv", AI4I_LIKE, "utf-8", bom=True))
    assert frame.columns[0] == "UDI"
    assert frame.attrs["units"]["Air temperature"] == "K"
    assert frame["Rotational speed"].dtype == np.int64
    assert frame["Type"].tolist() == ["M", "L"]


def test_wrong_field_count_reported(tmp_path):
    text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    frame = load_sensor_csv(write(tmp_path / "log.csv", text, "utf-8"))
    problems = frame.attrs["problems"]
    assert len(frame) == 2
    assert [problem["row"] for problem in problems] == [3, 4]
    assert {problem["reason"] for problem in problems} == {"wrong_field_count"}


def test_text_in_numeric_column_reported(tmp_path):
    text = "時刻,温度(℃)\n1,20.5\n2,エラー\n3,21.0\n4,21.5\n5,22.0\n6,22.5\n7,23.0\n8,23.5\n9,24.0\n10,24.5\n11,25.0\n"
    frame = load_sensor_csv(write(tmp_path / "log.csv", text, "cp932"))
    problem = frame.attrs["problems"][0]
    assert np.isnan(frame["温度"].iloc[1])
    assert problem["row"] == 3
    assert problem["column"] == "温度"
    assert problem["value"] == "エラー"


def test_bad_rows_logged_with_line(tmp_path, caplog):
    text = "a,b\n1,2\n3\n"
    with caplog.at_level("WARNING", logger="kenshu.datasets"):
        load_sensor_csv(write(tmp_path / "log.csv", text, "utf-8"))
    assert "3" in caplog.text
    assert "log.csv" in caplog.text


def test_quoted_thousands_and_full_width(tmp_path):
    text = '品番,数量\nA,"1,234"\nB,５６\n'
    frame = load_sensor_csv(write(tmp_path / "log.csv", text, "utf-8"))
    assert frame["数量"].tolist() == [1234, 56]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_separator_detected(tmp_path, separator):
    text = separator.join(["a", "b [V]"]) + "\n" + separator.join(["1", "2.5"]) + "\n"
    frame = load_sensor_csv(write(tmp_path / "log.csv", text, "utf-8"))
    assert list(frame.columns) == ["a", "b"]
    assert frame["b"].iloc[0] == 2.5


def test_blank_lines_skipped(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "log.csv", "\na,b\n\n1,2\n\n3,4\n", "utf-8"))
    assert len(frame) == 2
    assert frame.attrs["problems"] == []


def test_duplicate_names_kept_apart(tmp_path):
    frame = load_sensor_csv(write(tmp_path / "log.csv", "温度(℃),温度(K)\n20,293\n", "utf-8"))
    assert list(frame.columns) == ["温度", "温度(K)"]
    assert frame.attrs["units"] == {"温度": "℃"}


def test_missing_file(tmp_path):
    with pytest.raises(KenshuError) as caught:
        load_sensor_csv(tmp_path / "none.csv")
    assert caught.value.key == "datasets.file_not_found"


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(KenshuError) as caught:
        load_sensor_csv(tmp_path / "empty.csv")
    assert caught.value.key == "datasets.csv_empty"


def test_undecodable_bytes(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"a,b\n\x80\x81\xff,\xfd\n")
    with pytest.raises(KenshuError) as caught:
        load_sensor_csv(tmp_path / "bad.csv")
    assert caught.value.key == "datasets.csv_undecodable"
    assert "bad.csv" in str(caught.value)


def test_wrong_declared_encoding(tmp_path):
    path = write(tmp_path / "log.csv", JAPANESE_CSV, "cp932")
    with pytest.raises(KenshuError) as caught:
        load_sensor_csv(path, encoding="utf-8")
    assert caught.value.key == "datasets.csv_decode_failed"


def test_process_log_round_trip(tmp_path):
    frame = make_process_log(200, units_in_columns=True, random_state=0)
    frame.to_csv(tmp_path / "process.csv", index=False, encoding="utf-8-sig")
    loaded = load_sensor_csv(tmp_path / "process.csv")
    assert loaded.attrs["units"] == frame.attrs["units"]
    assert loaded["品質"].tolist() == frame["品質"].tolist()
    assert np.allclose(loaded["プレス荷重"], frame["プレス荷重[kN]"])


def test_realdata_ai4i_loads():
    path = REALDATA / "ai4i2020" / "ai4i2020.csv"
    if not path.is_file():
        pytest.skip(f"AI4I 2020 file not found: {path}")
    frame = load_sensor_csv(path)
    assert frame.attrs["encoding"] == "utf-8-sig"
    assert len(frame) == 10000
    assert frame.columns[0] == "UDI"
    assert frame.attrs["units"]["Torque"] == "Nm"
    assert frame.attrs["units"]["Air temperature"] == "K"
    assert set(frame["Machine failure"].unique()) == {0, 1}
    assert frame.attrs["problems"] == []
