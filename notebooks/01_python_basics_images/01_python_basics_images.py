# %% [markdown]
# # 01 Jupyter と Python で自社の画像を見る
#
# {{ company }} の課題：**{{ problem }}**
#
# この研修では、{{ company }} の画像（データ：{{ data_name }}）を使って AI の作り方を学びます。
# 1 回目の今日は、モデルを作る前にいちばん大事な「データをよく見る」ことを Python で行います。
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
# `DATA_DIR` は画像のフォルダで、クラス（{{ good_class }}、{{ defect_classes }}）ごとにサブフォルダに分かれています。
# `GOOD_CLASS` は良品のフォルダ名、`MAX_IMAGES_PER_CLASS` は 1 クラスあたりに読み込む最大枚数です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150

# %% kenshu="readonly" grade_id="setup"
from pathlib import Path

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from PIL import Image

from kenshu.datasets import load_image_folder
from kenshu.plotting import use_japanese_font

use_japanese_font()
print("Python の準備ができました。画像フォルダ:", DATA_DIR)

# %% [markdown]
# ## 問1 画像を読み込む
#
# `load_image_folder` は、クラスごとのサブフォルダに入った画像をまとめて読み込む関数です。
# 大きさをそろえ（`image_size`）、白黒の 0〜1 の数値にして返します。
# 読めなかったファイルや重複した画像は `problems` に記録されます。
#
# `load_image_folder(DATA_DIR, good_class=GOOD_CLASS, image_size=64, max_per_class=MAX_IMAGES_PER_CLASS, random_state=RANDOM_STATE)`
# の結果を `data` に入れてください。

# %% kenshu="answer" grade_id="load_data"
### BEGIN SOLUTION
data = load_image_folder(
    DATA_DIR,
    good_class=GOOD_CLASS,
    image_size=64,
    max_per_class=MAX_IMAGES_PER_CLASS,
    random_state=RANDOM_STATE,
)
### END SOLUTION
print("画像の配列:", data.images.shape, data.images.dtype)
print("クラス（フォルダ名）:", data.class_names)
print("読み込めなかったファイルなど:", len(data.problems), "件")

# %% kenshu="mistake" answer="load_data"
data = load_image_folder(DATA_DIR, image_size=32, random_state=RANDOM_STATE)

# %% kenshu="test" grade_id="test_load_data" points=2
assert data.images.ndim == 3, "data.images は（枚数, 高さ, 幅）の 3 次元配列のはずです。load_image_folder の結果を入れてください。"
assert len(data.images) == len(data.target), "画像の枚数とラベルの数が合いません。"
assert GOOD_CLASS in data.class_names, f"良品のクラス「{GOOD_CLASS}」が読み込まれていません。good_class=GOOD_CLASS を渡してください。"
### BEGIN HIDDEN TESTS
assert data.images.shape[1:] == (64, 64), "画像の大きさを 64×64 にそろえてください（image_size=64）。"
assert len(data.class_names) >= 2, "クラスが 1 つしか読み込まれていません。DATA_DIR を確認してください。"
assert all(count <= MAX_IMAGES_PER_CLASS for count in np.bincount(data.class_index)), "1 クラスあたりの枚数が MAX_IMAGES_PER_CLASS を超えています。max_per_class を渡してください。"
assert 0.0 <= float(data.images.min()) and float(data.images.max()) <= 1.0, "画素の値は 0〜1 のはずです。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 クラスごとの枚数を数える
#
# `data.class_index` は画像ごとのクラス番号、`data.class_names` はその番号に対応するフォルダ名です。
# クラス名を索引、枚数を値にした pandas の `Series` を `counts` に入れてください。
# ヒント：`pd.Series(np.array(data.class_names)[data.class_index]).value_counts()`。
#
# 枚数が大きく偏っていると、モデルは多いほうのクラスばかり答えるようになります。

# %% kenshu="answer" grade_id="count_per_class"
### BEGIN SOLUTION
counts = pd.Series(np.array(data.class_names)[data.class_index]).value_counts().sort_index()
### END SOLUTION

ax = counts.plot.bar(color="steelblue")
ax.set_xlabel("クラス")
ax.set_ylabel("枚数")
ax.set_title(f"{COMPANY}：クラスごとの画像の枚数")
plt.xticks(rotation=0)
plt.show()
counts

# %% kenshu="mistake" answer="count_per_class"
counts = pd.Series(data.target).value_counts()

# %% kenshu="test" grade_id="test_count_per_class" points=2
assert isinstance(counts, pd.Series), "counts は pandas の Series にしてください。"
assert int(counts.sum()) == len(data.images), "クラスごとの枚数を合計すると画像の枚数になるはずです。"
assert GOOD_CLASS in counts.index, f"counts の索引に良品のクラス「{GOOD_CLASS}」がありません。索引はフォルダ名にしてください。"
### BEGIN HIDDEN TESTS
for _index, _name in enumerate(data.class_names):
    assert int(counts.get(_name, 0)) == int(np.sum(data.class_index == _index)), f"クラス「{_name}」の枚数が違います。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 クラスごとに見本を選ぶ
#
# 数字だけでなく、実物の画像を見ましょう。各クラスから `n_per_class` 枚ずつ、ランダムに画像の番号を選ぶ関数
# `pick_samples(class_index, n_per_class, random_state)` を作ってください。
# 戻り値は「クラス番号 → 選んだ画像の番号の配列」の辞書です。そのクラスの画像が `n_per_class` 枚より少なければ、全部を返します。
# ヒント：`rng = np.random.default_rng(random_state)`、`np.flatnonzero(class_index == k)`、`rng.choice(..., replace=False)`。

# %% kenshu="answer" grade_id="pick_samples"
def pick_samples(class_index, n_per_class, random_state):
    """Return {class number: image indices}, at most *n_per_class* drawn at random from each class."""
    class_index = np.asarray(class_index)
    ### BEGIN SOLUTION
    rng = np.random.default_rng(random_state)
    samples = {}
    for k in np.unique(class_index):
        members = np.flatnonzero(class_index == k)
        samples[int(k)] = rng.choice(members, size=min(n_per_class, len(members)), replace=False)
    return samples
    ### END SOLUTION


samples = pick_samples(data.class_index, 5, RANDOM_STATE)
n_columns = max(len(indices) for indices in samples.values())
fig, axes = plt.subplots(len(samples), n_columns, figsize=(2 * n_columns, 2.2 * len(samples)), squeeze=False)
for row, (k, indices) in enumerate(sorted(samples.items())):
    for column in range(n_columns):
        axis = axes[row, column]
        axis.axis("off")
        if column < len(indices):
            axis.imshow(data.images[indices[column]], cmap="gray", vmin=0, vmax=1)
            axis.set_title(data.class_names[k], fontsize=10)
fig.suptitle(f"{COMPANY}：クラスごとの見本")
plt.tight_layout()
plt.show()

# %% kenshu="mistake" answer="pick_samples"
def pick_samples(class_index, n_per_class, random_state):
    class_index = np.asarray(class_index)
    return {int(k): np.flatnonzero(class_index == k)[:n_per_class] for k in np.unique(class_index)}

# %% kenshu="test" grade_id="test_pick_samples" points=3
_samples = pick_samples(np.array([0, 0, 0, 1, 1, 1, 1, 2]), 2, 0)
assert set(_samples) == {0, 1, 2}, "クラス番号ごとに 1 つずつキーを作ってください。"
assert len(_samples[0]) == 2 and len(_samples[1]) == 2, "各クラスから n_per_class 枚ずつ選んでください。"
assert len(_samples[2]) == 1, "画像が n_per_class 枚より少ないクラスは、あるだけ全部を返してください。"
### BEGIN HIDDEN TESTS
_class_index = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
_picked = pick_samples(_class_index, 3, 7)
for _k, _indices in _picked.items():
    assert np.all(_class_index[np.asarray(_indices)] == _k), f"クラス {_k} の見本に別のクラスの画像が入っています。"
    assert len(set(np.asarray(_indices).tolist())) == len(_indices), "同じ画像を 2 回選ばないでください（replace=False）。"
_again = pick_samples(_class_index, 3, 7)
assert all(np.array_equal(_picked[_k], _again[_k]) for _k in _picked), "同じ random_state なら同じ画像を選ぶようにしてください。"
_draws = {tuple(sorted(np.asarray(pick_samples(np.zeros(50, dtype=int), 3, seed)[0]).tolist())) for seed in range(5)}
assert len(_draws) > 1, "random_state を変えても同じ画像しか選ばれません。ランダムに選んでください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 元の画像の大きさを調べる
#
# `load_image_folder` は画像を 64×64 にそろえましたが、元の写真の大きさはばらばらかもしれません。
# 大きさが違うと、傷の写り方（何画素になるか）も変わります。
#
# `data.paths`（読み込んだ画像のファイルの場所）を PIL の `Image.open` で開き、
# 列 `width`（幅）と `height`（高さ）を持つ DataFrame `sizes` を作ってください（1 行が 1 枚、順番は `data.paths` と同じ）。

# %% kenshu="answer" grade_id="image_sizes"
### BEGIN SOLUTION
rows = []
for path in data.paths:
    with Image.open(path) as image:
        width, height = image.size
    rows.append({"width": width, "height": height})
sizes = pd.DataFrame(rows)
### END SOLUTION

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].hist(sizes["width"], bins=20, color="steelblue")
axes[0].set_xlabel("幅（画素）")
axes[0].set_ylabel("枚数")
axes[1].hist(sizes["height"], bins=20, color="darkorange")
axes[1].set_xlabel("高さ（画素）")
fig.suptitle(f"{COMPANY}：元の画像の大きさ")
plt.tight_layout()
plt.show()
sizes.describe()

# %% kenshu="mistake" answer="image_sizes"
sizes = pd.DataFrame({"width": [image.shape[1] for image in data.images], "height": [image.shape[0] for image in data.images]})

# %% kenshu="test" grade_id="test_image_sizes" points=3
assert isinstance(sizes, pd.DataFrame), "sizes は pandas の DataFrame にしてください。"
assert {"width", "height"} <= set(sizes.columns), "sizes に列 width と height を作ってください。"
assert len(sizes) == len(data.paths), "sizes は読み込んだ画像 1 枚につき 1 行にしてください。"
### BEGIN HIDDEN TESTS
assert (sizes["width"] > 0).all() and (sizes["height"] > 0).all(), "幅と高さは正の数のはずです。"
for _position in [0, len(data.paths) // 2, len(data.paths) - 1]:
    with Image.open(data.paths[_position]) as _image:
        _width, _height = _image.size
    assert int(sizes["width"].iloc[_position]) == _width, f"{_position} 行目の幅が画像と違います。image.size は（幅, 高さ）の順です。"
    assert int(sizes["height"].iloc[_position]) == _height, f"{_position} 行目の高さが画像と違います。image.size は（幅, 高さ）の順です。"
### END HIDDEN TESTS

# %% [markdown]
# ## ふりかえり（講師が採点します）
#
# 見本の画像と枚数・大きさのグラフを見て、3〜5 行で答えてください。
#
# 1. {{ good_class }} と {{ defect_classes }} の違いは、目で見て分かりましたか。どこを見れば分かりますか。
# 2. このデータで AI を作るとき、心配なこと（枚数の偏り、写り方のばらつき、ラベルの誤りなど）はありますか。

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# （解答例）不良品は表面に細い線や暗いしみがあり、拡大すれば目で分かります。
# ただし小さな打痕は照明の向きによって見えにくく、良品との差が小さい画像もありました。
# 枚数は良品と不良品でほぼ同じですが、実際のラインでは不良品はずっと少ないので、そのときの扱いが心配です。
