"""Write 出席簿_2026.csv, the demo course's sign-in sheet, the way an office's Excel saves it.

Run from anywhere: ``python make_sample_sheet.py``. The sheet is saved in
cp932 (Excel's "CSV (コンマ区切り)" on a Japanese Windows) and is written
with the mess a real sheet has, each on purpose so the importer is shown to
cope with it:

- full-width digits in dates (２０２６/６/４, 令和８年６月１８日) and an
  ideographic space in a name (佐藤　花子);
- dates as 2026/6/4, 2026-06-04, 令和8年6月18日 and R8.6.18;
- marks 出, 〇, ○, 欠, ×, 遅刻 and 早退;
- one name without the space between family and given name (鈴木一郎) and
  one company written (株)さくら精工;
- one blank line between the first two sessions;
- one typo'd name, 田中 建 for 田中 健 on 2026-07-02, which the import must
  report and not count.
"""

from pathlib import Path

COMPANY = "株式会社さくら精工"

ROWS = [
    ("日付", "氏名", "会社名", "出欠"),
    ("2026/6/4", "山田 太郎", COMPANY, "出"),
    ("２０２６/６/４", "佐藤　花子", COMPANY, "〇"),
    ("2026/6/4", "鈴木一郎", "(株)さくら精工", "出"),
    ("2026-06-04", "高橋 美咲", COMPANY, "遅刻"),
    ("2026/6/4", "田中 健", COMPANY, "○"),
    ("2026/6/4", "伊藤 さくら", COMPANY, "出"),
    (),
    ("令和8年6月18日", "山田 太郎", COMPANY, "出"),
    ("R8.6.18", "佐藤 花子", COMPANY, "欠"),
    ("令和８年６月１８日", "鈴木 一郎", COMPANY, "出"),
    ("令和8年6月18日", "高橋 美咲", COMPANY, "出"),
    ("令和8年6月18日", "田中 健", COMPANY, "欠"),
    ("令和8年6月18日", "伊藤 さくら", COMPANY, "早退"),
    ("2026/7/2", "山田 太郎", COMPANY, "出"),
    ("2026/7/2", "佐藤 花子", COMPANY, "出"),
    ("2026/7/2", "鈴木 一郎", COMPANY, "×"),
    ("2026/7/2", "高橋 美咲", COMPANY, "出"),
    ("2026/7/2", "田中 建", COMPANY, "出"),
    ("2026/7/2", "伊藤 さくら", COMPANY, "出"),
]


def main() -> None:
    """Write the sheet beside this script, with CR LF line ends as Excel writes them."""
    path = Path(__file__).with_name("出席簿_2026.csv")
    text = "".join(",".join(row) + "\r\n" for row in ROWS)
    path.write_bytes(text.encode("cp932"))
    print(path)


if __name__ == "__main__":
    main()
