# %% [markdown]
# # 01 Jupyter と Python で自社のセンサ・工程データを見る
#
# {{ company }} の課題：**{{ problem }}**
#
# この研修では、{{ company }} のデータ（{{ data_name }}）を使って AI の作り方を学びます。
# 1 回目の今日は、モデルを作る前にいちばん大事な「データをよく見る」ことを Python（pandas と matplotlib）で行います。
#
# **Jupyter の使い方**：セルを選んで `Shift + Enter` で実行します。上から順に実行してください。
# 途中からやり直したいときは、メニューの「Kernel → Restart Kernel and Run All Cells」で最初から実行し直せます。
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `DATA_CSV` は CSV ファイル、`LABEL_COLUMN` は品質ラベルの列（ここでは「{{ label_column }}」）、
# `GOOD_LABEL` は良品を表す値（「{{ good_label }}」）、`N_ROWS` は読み込む行数の上限です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_CSV = "data/process_log.csv"
LABEL_COLUMN = "品質"
GOOD_LABEL = "良品"
RANDOM_STATE = 0
N_ROWS = 10000

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

from kenshu.datasets import load_sensor_csv
from kenshu.plotting import use_japanese_font

use_japanese_font()
print("Python の準備ができました。CSV ファイル:", DATA_CSV)

# %% [markdown]
# ## 問1 CSV を読み込む
#
# `load_sensor_csv(path)` は工場の CSV を pandas の DataFrame として読み込みます。
# Excel で保存した Shift_JIS の CSV や、先頭に BOM の付いた UTF-8 の CSV もそのまま読めます。
# 列の単位が分かれば `df.attrs["units"]` に入ります。
#
# `DATA_CSV` を読み込み、先頭から `N_ROWS` 行までを `df` に入れてください（ヒント：`.head(N_ROWS)`）。

# %% kenshu="answer" grade_id="load_data"
### BEGIN SOLUTION
df = load_sensor_csv(DATA_CSV).head(N_ROWS)
### END SOLUTION
print(f"{len(df)} 行、{df.shape[1]} 列")
df.head()

# %% kenshu="mistake" answer="load_data"
df = load_sensor_csv(DATA_CSV).head()

# %% kenshu="test" grade_id="test_load_data" points=2
assert isinstance(df, pd.DataFrame), "df は pandas の DataFrame にしてください。load_sensor_csv の結果です。"
assert LABEL_COLUMN in df.columns, f"品質ラベルの列「{LABEL_COLUMN}」がありません。DATA_CSV を読み込んでいるか確認してください。"
assert 0 < len(df) <= N_ROWS, f"df の行数は 1〜{N_ROWS} 行にしてください（.head(N_ROWS)）。"
### BEGIN HIDDEN TESTS
_full = load_sensor_csv(DATA_CSV)
assert len(df) == min(N_ROWS, len(_full)), "先頭から N_ROWS 行（ファイルがそれより短ければ全部）を読み込んでください。"
assert list(df.columns) == list(_full.columns), "列は CSV のとおりに読み込んでください。"
assert df.index.equals(_full.index[: len(df)]), "ファイルの先頭の行から順に読み込んでください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 数値の列をまとめて見る
#
# `df.describe()` は数値の列ごとに、件数・平均・標準偏差・最小・四分位・最大をまとめます。
# 桁のまちがい（mm と µm の混在など）や、ありえない値（負の温度、0 のままの列）はここで見つかります。
#
# 数値の列の名前のリストを `numeric_columns` に、`df[numeric_columns].describe()` を `summary` に入れてください。
# ヒント：`df.select_dtypes("number").columns`。

# %% kenshu="answer" grade_id="describe"
### BEGIN SOLUTION
numeric_columns = list(df.select_dtypes("number").columns)
summary = df[numeric_columns].describe()
### END SOLUTION
summary

# %% kenshu="mistake" answer="describe"
numeric_columns = list(df.columns)
summary = df.describe(include="all")

# %% kenshu="test" grade_id="test_describe" points=2
assert len(numeric_columns) >= 1, "数値の列が 1 つも選ばれていません。"
assert isinstance(summary, pd.DataFrame), "summary は describe() の結果（DataFrame）にしてください。"
assert {"mean", "std", "min", "max"} <= set(summary.index), "summary に平均（mean）などの行がありません。describe() を使ってください。"
### BEGIN HIDDEN TESTS
assert all(pd.api.types.is_numeric_dtype(df[column]) for column in numeric_columns), "numeric_columns に数値でない列が入っています。"
assert set(numeric_columns) == set(df.select_dtypes("number").columns), "数値の列をすべて numeric_columns に入れてください。"
assert list(summary.columns) == list(numeric_columns), "summary の列は numeric_columns と同じにしてください。"
assert np.allclose(summary.loc["mean"].to_numpy(dtype=float), df[numeric_columns].mean().to_numpy(dtype=float), equal_nan=True), "summary の平均が df と合いません。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 良品と不良品の数
#
# 品質ラベルの列「{{ label_column }}」の値ごとの行数を `label_counts`（`value_counts()` の結果）に、
# 良品（`GOOD_LABEL`）でない行の割合を `defect_ratio` に入れてください。
# ラベルが数値（0/1）でも文字（良品/不良品）でも動くように、`astype(str)` で文字にして比べます。
#
# 不良がとても少ないこと（数 %）はふつうです。次回、これが評価のしかたを大きく変えることを学びます。

# %% kenshu="answer" grade_id="label_counts"
### BEGIN SOLUTION
label_counts = df[LABEL_COLUMN].value_counts()
defect_ratio = float(np.mean(df[LABEL_COLUMN].astype(str) != str(GOOD_LABEL)))
### END SOLUTION

ax = label_counts.plot.bar(color=["steelblue", "firebrick"] * len(label_counts))
ax.set_xlabel(LABEL_COLUMN)
ax.set_ylabel("行数")
ax.set_title(f"{COMPANY}：品質ラベルごとの行数（不良の割合 {defect_ratio:.1%}）")
plt.xticks(rotation=0)
plt.show()
label_counts

# %% kenshu="mistake" answer="label_counts"
label_counts = df[LABEL_COLUMN].value_counts()
defect_ratio = 100 * float(np.mean(df[LABEL_COLUMN].astype(str) != str(GOOD_LABEL)))

# %% kenshu="test" grade_id="test_label_counts" points=2
assert int(label_counts.sum()) == df[LABEL_COLUMN].notna().sum(), "label_counts を合計すると、ラベルのある行の数になるはずです。"
assert 0.0 <= defect_ratio <= 1.0, "defect_ratio は 0〜1 の割合にしてください（% ではありません）。"
### BEGIN HIDDEN TESTS
assert set(label_counts.index.astype(str)) == set(df[LABEL_COLUMN].dropna().astype(str)), "label_counts の索引はラベルの値にしてください。"
_expected_ratio = float(np.mean(df[LABEL_COLUMN].astype(str) != str(GOOD_LABEL)))
assert abs(defect_ratio - _expected_ratio) < 1e-9, "defect_ratio は「良品でない行の数 ÷ 全行数」です。GOOD_LABEL と比べてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 列をグラフにする
#
# 数字の表だけでは、時間とともに変わる様子（じわじわ上がる温度、急な跳ね）は分かりません。
# 指定した列をそれぞれ別の段に、行番号を横軸にして折れ線で描く関数 `plot_columns(df, columns)` を作ってください。
# 戻り値は matplotlib の `Figure` で、段（`Axes`）の数は `len(columns)`、各段には折れ線が 1 本です。
# 各段の縦軸の名前（`set_ylabel`）は列名にします。
# ヒント：`fig, axes = plt.subplots(len(columns), 1, sharex=True, squeeze=False)`。

# %% kenshu="answer" grade_id="plot_columns"
def plot_columns(df, columns):
    """Draw each column of *df* against the row number, one panel per column, and return the figure."""
    ### BEGIN SOLUTION
    fig, axes = plt.subplots(len(columns), 1, figsize=(9, 2 * len(columns)), sharex=True, squeeze=False)
    for axis, column in zip(axes[:, 0], columns):
        axis.plot(np.arange(len(df)), df[column].to_numpy(), linewidth=0.8)
        axis.set_ylabel(column)
    axes[-1, 0].set_xlabel("行番号")
    return fig
    ### END SOLUTION


columns_to_plot = [column for column in numeric_columns if column != LABEL_COLUMN][:4]
figure = plot_columns(df, columns_to_plot)
figure.suptitle(f"{COMPANY}：{', '.join(columns_to_plot)}")
plt.show()

# %% kenshu="mistake" answer="plot_columns"
def plot_columns(df, columns):
    fig, axis = plt.subplots()
    for column in columns:
        axis.plot(df[column].to_numpy(), label=column)
    axis.legend()
    return fig

# %% kenshu="test" grade_id="test_plot_columns" points=3
import matplotlib.figure

_test_frame = pd.DataFrame({"温度": [20.0, 21.0, 22.5, 21.5], "振動": [0.1, 0.3, 0.2, 0.4], "圧力": [1.0, 1.1, 1.0, 0.9]})
_figure = plot_columns(_test_frame, ["温度", "振動"])
assert isinstance(_figure, matplotlib.figure.Figure), "plot_columns は Figure を返してください（fig, axes = plt.subplots(...) の fig）。"
assert len(_figure.axes) == 2, "列 2 つなら段（Axes）も 2 つにしてください。"
### BEGIN HIDDEN TESTS
assert [axis.get_ylabel() for axis in _figure.axes] == ["温度", "振動"], "各段の縦軸の名前を、列名にしてください（順番も columns のとおり）。"
for _axis, _column in zip(_figure.axes, ["温度", "振動"]):
    assert len(_axis.get_lines()) == 1, "各段には折れ線を 1 本だけ描いてください。"
    assert np.allclose(_axis.get_lines()[0].get_ydata(), _test_frame[_column]), f"段「{_column}」の折れ線の値が列「{_column}」と違います。"
    assert len(_axis.get_lines()[0].get_xdata()) == len(_test_frame), "折れ線の点の数は行数と同じにしてください。"
assert len(plot_columns(_test_frame, ["圧力"]).axes) == 1, "列が 1 つでも動くようにしてください（squeeze=False）。"
plt.close("all")
### END HIDDEN TESTS

# %% [markdown]
# ## ふりかえり（講師が採点します）
#
# 表とグラフを見て、3〜5 行で答えてください。
#
# 1. 不良の行は全体の何 % でしたか。不良の前後で、値が変わっている列はありましたか。
# 2. このデータで AI を作るとき、心配なこと（欠けた値、単位、不良の少なさ、ラベルの付け方など）はありますか。

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# （解答例）不良は全体の約 5 % でした。不良の行では主軸の温度と振動がやや高めに見えますが、良品と重なる部分も多いです。
# 不良が少ないので、「全部良品」と答えるだけで 95 % 当たってしまう点に注意が必要です。
# また、ラベルは出荷後の検査で付けたものなので、付け忘れや遅れがないかを現場に確認したいです。
