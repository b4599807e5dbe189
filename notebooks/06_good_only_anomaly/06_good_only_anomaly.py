# %% [markdown]
# # 06 良品だけで学ぶ異常検知
#
# {{ company }} の課題：**{{ problem }}**
#
# 不良品の写真はなかなか集まりません。不良がめったに出ないラインほどそうです。
# そこで、**良品の写真だけ** で「ふつうの部品の見え方」を覚え、そこから外れた部品を異常とみなす方法（異常検知）を学びます。
# データ：{{ data_name }}（良品：{{ good_class }}、不良品：{{ defect_classes }}）。
# 不良品の写真は学習には使わず、「本当に見つけられるか」を確かめるためだけに使います。
#
# 考え方：画像を小さな区画（パッチ）に分け、良品のパッチを全部覚えておきます。新しい画像のパッチが、
# 覚えた良品のパッチの **どれとも似ていなければ** 、そこに傷や穴があると考えます。画像の異常スコアは、いちばん似ていないパッチの値です。
# 「どのパッチが似ていなかったか」を画像に重ねると、モデルが **どこを見て異常と言ったか**（ヒートマップ）が分かります。
#
# 進め方：
# 1. パッチごとの明るさの統計を計算する
# 2. いちばん近い良品のパッチまでの距離を計算する
# 3. 良品のスコアだけでしきい値を決め、テスト用データで確かめる
# 4. `kenshu inspect` が使う `fit_anomaly_detector` で同じことをし、ヒートマップを見る
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `MAX_IMAGES_PER_CLASS` は 1 クラスあたりの最大枚数、`IMAGE_SIZE` は縮小後の一辺の画素数、`PATCH_SIZE` はパッチの一辺の画素数です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150
IMAGE_SIZE = 128
PATCH_SIZE = 8

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
from sklearn.neighbors import NearestNeighbors

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.inspection import choose_threshold, evaluate_scores, explain_images, fit_anomaly_detector, score_images
from kenshu.plotting import use_japanese_font

use_japanese_font()

if IMAGE_SIZE % PATCH_SIZE:
    raise ValueError(f"IMAGE_SIZE（{IMAGE_SIZE}）が PATCH_SIZE（{PATCH_SIZE}）で割り切れません。講師に連絡してください。")

data = load_image_folder(
    DATA_DIR,
    good_class=GOOD_CLASS,
    image_size=IMAGE_SIZE,
    max_per_class=MAX_IMAGES_PER_CLASS,
    random_state=RANDOM_STATE,
    write_card=False,
    load_masks=True,
)
images = data.images
y = data.target

# The split of `kenshu inspect --mode anomaly`: the stratified 60/20/20 split, then the
# defects of the training part move to validation, because the detector is trained on good parts only.
train_index, validation_index, test_index = train_validation_test_split(y, random_state=RANDOM_STATE)
validation_index = np.concatenate([validation_index, train_index[y[train_index] == 1]])
train_index = train_index[y[train_index] == 0]
y_validation, y_test = y[validation_index], y[test_index]
print(f"{COMPANY}：学習用（良品のみ）{len(train_index)} 枚、検証用 {len(validation_index)} 枚（うち不良品 {int(y_validation.sum())}）、テスト用 {len(test_index)} 枚（うち不良品 {int(y_test.sum())}）")

# %% [markdown]
# ## 問1 パッチごとの明るさの統計
#
# `patch_statistics(images, patch_size)` を完成させてください。`(枚数, S, S)` の画像を、重ならない `patch_size`×`patch_size` の区画に分け、
# 区画ごとの **明るさの平均** と **標準偏差** を返します。戻り値の形は `(枚数, S / patch_size, S / patch_size, 2)` で、
# `[..., 0]` が平均、`[..., 1]` が標準偏差です。穴やしみのあるパッチは平均が下がり、傷の縁のあるパッチは標準偏差が上がります。
#
# ヒント：`k = S // patch_size` として `images.reshape(n, k, patch_size, k, patch_size)` にすると、
# 軸 1 と 3 がパッチの行と列、軸 2 と 4 がパッチの中の画素になります。`axis=(2, 4)` で平均と標準偏差を取り、`np.stack(..., axis=-1)` で並べます。

# %% kenshu="answer" grade_id="patches"
def patch_statistics(images, patch_size):
    """Return the mean and standard deviation of every non-overlapping patch, shape (n, S / patch_size, S / patch_size, 2)."""
    images = np.asarray(images, dtype=np.float64)
    ### BEGIN SOLUTION
    n, height, width = images.shape
    blocks = images.reshape(n, height // patch_size, patch_size, width // patch_size, patch_size)
    return np.stack([blocks.mean(axis=(2, 4)), blocks.std(axis=(2, 4))], axis=-1)
    ### END SOLUTION


train_patches = patch_statistics(images[train_index], PATCH_SIZE)
print("学習用の良品のパッチの統計:", train_patches.shape)

# %% kenshu="mistake" answer="patches"
def patch_statistics(images, patch_size):
    images = np.asarray(images, dtype=np.float64)
    n, height, width = images.shape
    blocks = images.reshape(n, height // patch_size, width // patch_size, patch_size, patch_size)
    return np.stack([blocks.mean(axis=(3, 4)), blocks.std(axis=(3, 4))], axis=-1)


train_patches = patch_statistics(images[train_index], PATCH_SIZE)

# %% kenshu="test" grade_id="test_patches" points=2
_k = IMAGE_SIZE // PATCH_SIZE
assert np.shape(train_patches) == (len(train_index), _k, _k, 2), f"train_patches の形は (枚数, {_k}, {_k}, 2) のはずです。今は {np.shape(train_patches)} です。"
### BEGIN HIDDEN TESTS
_plain = patch_statistics(np.full((2, 8, 8), 0.4), 4)
assert np.allclose(_plain[..., 0], 0.4), "明るさ 0.4 の無地の画像では、どのパッチも平均 0.4 です。"
assert np.allclose(_plain[..., 1], 0.0), "無地の画像では、どのパッチも標準偏差 0 です。"
_image = np.zeros((1, 8, 8))
_image[0, 0:4, 4:8] = 1.0
_result = patch_statistics(_image, 4)
assert _result.shape == (1, 2, 2, 2), "8×8 の画像を 4×4 のパッチに分けると、2×2 個のパッチです。"
assert np.allclose(_result[0, :, :, 0], [[0.0, 1.0], [0.0, 0.0]]), "右上の 4×4 だけ明るい画像では、平均は [[0, 1], [0, 0]] です。reshape の軸の順番（n, 行, 画素, 列, 画素）を確認してください。"
_stripes = np.zeros((1, 4, 4))
_stripes[0, :, ::2] = 1.0
assert np.allclose(patch_statistics(_stripes, 2)[0, :, :, 1], 0.5), "縦じまのパッチ（0 と 1 が半分ずつ）の標準偏差は 0.5 です。"
assert np.allclose(train_patches, patch_statistics(images[train_index], PATCH_SIZE)), "train_patches は patch_statistics(images[train_index], PATCH_SIZE) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 いちばん近い良品のパッチまでの距離
#
# 学習用の良品のパッチをすべて「記憶」しておきます（次のセルの `memory`、1 行が 1 パッチの（平均, 標準偏差）を、
# 学習用の良品の平均と標準偏差で標準化したもの）。
# 新しいパッチの異常さは、記憶の中で **いちばん近いパッチまでの距離**（ユークリッド距離）です。
# 良品によくあるパッチなら近くに仲間がいるので小さく、見たことのないパッチなら大きくなります。
#
# `nearest_distances(points, memory)` を完成させてください。`points` の 1 行ごとに、`memory` のいちばん近い行までの距離を返します（長さ `len(points)` の配列）。
# ヒント：`NearestNeighbors(n_neighbors=1).fit(memory).kneighbors(points)` は `(距離, 番号)` を返します。距離の形は `(len(points), 1)` です。

# %%
feature_mean = train_patches.reshape(-1, 2).mean(axis=0)
feature_std = train_patches.reshape(-1, 2).std(axis=0) + 1e-6
memory = (train_patches.reshape(-1, 2) - feature_mean) / feature_std
print(f"記憶した良品のパッチ：{len(memory)} 個")

# %% kenshu="answer" grade_id="nearest"
def nearest_distances(points, memory):
    """Return the Euclidean distance from each row of *points* to the nearest row of *memory*."""
    points = np.asarray(points, dtype=np.float64)
    memory = np.asarray(memory, dtype=np.float64)
    ### BEGIN SOLUTION
    distances, _ = NearestNeighbors(n_neighbors=1).fit(memory).kneighbors(points)
    return distances[:, 0]
    ### END SOLUTION


def anomaly_maps(images):
    """Return, per image, the distance of every patch to the nearest good training patch, shape (n, k, k)."""
    patches = patch_statistics(images, PATCH_SIZE)
    n, rows, columns, _ = patches.shape
    standardised = (patches.reshape(-1, 2) - feature_mean) / feature_std
    return nearest_distances(standardised, memory).reshape(n, rows, columns)


validation_maps = anomaly_maps(images[validation_index])
validation_scores = validation_maps.max(axis=(1, 2))
print(f"検証用の異常スコア：良品の中央値 {np.median(validation_scores[y_validation == 0]):.2f}、不良品の中央値 {np.median(validation_scores[y_validation == 1]):.2f}")

# %% kenshu="mistake" answer="nearest"
def nearest_distances(points, memory):
    points = np.asarray(points, dtype=np.float64)
    memory = np.asarray(memory, dtype=np.float64)
    return np.linalg.norm(points - memory.mean(axis=0), axis=1)


def anomaly_maps(images):
    patches = patch_statistics(images, PATCH_SIZE)
    n, rows, columns, _ = patches.shape
    standardised = (patches.reshape(-1, 2) - feature_mean) / feature_std
    return nearest_distances(standardised, memory).reshape(n, rows, columns)


validation_maps = anomaly_maps(images[validation_index])
validation_scores = validation_maps.max(axis=(1, 2))

# %% kenshu="test" grade_id="test_nearest" points=3
_memory = np.array([[0.0, 0.0], [1.0, 1.0], [4.0, 0.0]])
assert np.shape(nearest_distances(np.zeros((5, 2)), _memory)) == (5,), "nearest_distances は points の 1 行につき 1 つの距離を返してください。"
assert np.shape(validation_scores) == (len(validation_index),), "validation_scores は検証用の画像 1 枚につき 1 つの値です。"
### BEGIN HIDDEN TESTS
assert np.allclose(nearest_distances([[0.0, 0.0], [1.0, 1.0]], _memory), [0.0, 0.0]), "記憶にあるのと同じ点の距離は 0 です。"
assert np.allclose(nearest_distances([[4.0, 3.0], [2.0, 1.0]], _memory), [3.0, 1.0]), "(4, 3) にいちばん近いのは (4, 0) で距離 3、(2, 1) にいちばん近いのは (1, 1) で距離 1 です。平均ではなく、いちばん近い点までの距離です。"
assert np.allclose(nearest_distances(np.array([[1.0, 1.0]]), _memory[::-1]), [0.0]), "memory の順番が変わっても同じ距離になるはずです。"
assert np.allclose(validation_scores, anomaly_maps(images[validation_index]).max(axis=(1, 2))), "validation_scores は検証用の各画像の anomaly_maps の最大値です。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 良品だけでしきい値を決める
#
# 不良品がほとんどない工場では、しきい値も良品だけで決めます。
# 検証用の **良品** のスコアの上位 `FALSE_ALARM_TARGET`（例えば 5%）を超えたら異常、と決めれば、
# 良品を人に回す割合（過検出率）はおよそ `FALSE_ALARM_TARGET` になります。そのとき不良品をどれだけ見逃すかは、テスト用データで確かめます。
#
# 1. 検証用の良品のスコアの `1 - FALSE_ALARM_TARGET` 分位点（`np.quantile`）を `threshold` に
# 2. テスト用の異常スコア（`anomaly_maps` の最大値）を `test_scores` に
# 3. `evaluate_scores(test_scores, y_test, threshold)` を `test_result` に入れてください。

# %%
FALSE_ALARM_TARGET = 0.05

# %% kenshu="answer" grade_id="threshold"
### BEGIN SOLUTION
threshold = float(np.quantile(validation_scores[y_validation == 0], 1 - FALSE_ALARM_TARGET))
test_scores = anomaly_maps(images[test_index]).max(axis=(1, 2))
test_result = evaluate_scores(test_scores, y_test, threshold)
### END SOLUTION
print(f"しきい値 {threshold:.3f}：テスト用の見逃し率 {test_result.miss_rate:.3f}、過検出率 {test_result.false_alarm_rate:.3f}、ROC AUC {test_result.roc_auc:.3f}")

# %% kenshu="mistake" answer="threshold"
test_scores = anomaly_maps(images[test_index]).max(axis=(1, 2))
threshold = float(np.quantile(test_scores, 1 - FALSE_ALARM_TARGET))
test_result = evaluate_scores(test_scores, y_test, threshold)

# %% kenshu="test" grade_id="test_threshold" points=3
assert np.shape(test_scores) == (len(test_index),), "test_scores はテスト用の画像 1 枚につき 1 つの値です。"
assert test_result.n_images == len(test_index), "test_result はテスト用データで計算してください。"
### BEGIN HIDDEN TESTS
_threshold = np.quantile(validation_scores[y_validation == 0], 1 - FALSE_ALARM_TARGET)
assert abs(threshold - _threshold) < 1e-9, "threshold は検証用の良品のスコア（validation_scores[y_validation == 0]）の 1 - FALSE_ALARM_TARGET 分位点です。テスト用や不良品のスコアで決めてはいけません。"
assert np.allclose(test_scores, anomaly_maps(images[test_index]).max(axis=(1, 2))), "test_scores はテスト用の各画像の anomaly_maps の最大値です。"
assert test_result.confusion == evaluate_scores(test_scores, y_test, threshold).confusion, "test_result は evaluate_scores(test_scores, y_test, threshold) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 kenshu の fit_anomaly_detector
#
# `kenshu inspect` は、不良品の写真が少ないとき（既定では 20 枚未満）に良品だけで学ぶ方法に切り替えます。その関数が `fit_anomaly_detector` です。
# 良品の写真を見て、方法を自動で選びます：同じ部品がいろいろな位置・向きで写っていれば、位置と向きをそろえて画素ごとに良品と比べ、
# 画面いっぱいに表面が写っていれば、画像全体の特徴量（明るさ、勾配の向き、細かい模様など）が良品の分布からどれだけ離れているかを測ります。
# 問1・問2 で作ったパッチの方法も選べます（`method="patches"`）。選んだ方法は `detector.details["method"]` に入っています。
#
# 1. `detector = fit_anomaly_detector(images[train_index], random_state=RANDOM_STATE)`（学習用の良品だけ）
# 2. 検証用のスコア `score_images(detector.scorer, images[validation_index])` を `kenshu_validation_scores` に
# 3. しきい値を **検証用の良品のスコアだけ** で決めます：
#    `choose_threshold(良品のスコア, 同じ長さの 0 の配列, rule="false_alarm", max_false_alarm_rate=FALSE_ALARM_TARGET)` を `kenshu_threshold` に
# 4. テスト用のスコアを `kenshu_threshold.threshold` で判定した `evaluate_scores(...)` を `kenshu_test` に入れてください。

# %% kenshu="answer" grade_id="kenshu_detector"
### BEGIN SOLUTION
detector = fit_anomaly_detector(images[train_index], random_state=RANDOM_STATE)
kenshu_validation_scores = score_images(detector.scorer, images[validation_index])
good_validation_scores = kenshu_validation_scores[y_validation == 0]
kenshu_threshold = choose_threshold(
    good_validation_scores,
    np.zeros(len(good_validation_scores), dtype=int),
    rule="false_alarm",
    max_false_alarm_rate=FALSE_ALARM_TARGET,
)
kenshu_test = evaluate_scores(score_images(detector.scorer, images[test_index]), y_test, kenshu_threshold.threshold)
### END SOLUTION
print(f"fit_anomaly_detector が選んだ方法：{detector.details.get('method', 'patches')}")
for name, result in [("自作（パッチの平均と標準偏差）", test_result), ("fit_anomaly_detector", kenshu_test)]:
    print(f"{name}：テスト用の ROC AUC {result.roc_auc:.3f}、見逃し率 {result.miss_rate:.3f}、過検出率 {result.false_alarm_rate:.3f}")

# %% kenshu="mistake" answer="kenshu_detector"
detector = fit_anomaly_detector(images[train_index], random_state=RANDOM_STATE)
kenshu_validation_scores = score_images(detector.scorer, images[validation_index])
kenshu_threshold = choose_threshold(kenshu_validation_scores, y_validation)
kenshu_test = evaluate_scores(score_images(detector.scorer, images[test_index]), y_test, kenshu_threshold.threshold)

# %% kenshu="test" grade_id="test_kenshu_detector" points=3
assert detector.kind == "anomaly", "detector は fit_anomaly_detector の戻り値にしてください。"
assert np.shape(kenshu_validation_scores) == (len(validation_index),), "kenshu_validation_scores は検証用の画像 1 枚につき 1 つの値です。"
assert kenshu_test.n_images == len(test_index), "kenshu_test はテスト用データで計算してください。"
### BEGIN HIDDEN TESTS
_again = fit_anomaly_detector(images[train_index], random_state=RANDOM_STATE)
assert np.allclose(score_images(_again.scorer, images[validation_index[:4]]), kenshu_validation_scores[:4], atol=1e-5), "detector は学習用の良品（images[train_index]）だけで学習し、検証用の画像を採点してください。"
_good = kenshu_validation_scores[y_validation == 0]
_expected = choose_threshold(_good, np.zeros(len(_good), dtype=int), rule="false_alarm", max_false_alarm_rate=FALSE_ALARM_TARGET)
assert abs(kenshu_threshold.threshold - _expected.threshold) < 1e-9, "しきい値は検証用の良品のスコアだけで、rule=\"false_alarm\"、max_false_alarm_rate=FALSE_ALARM_TARGET で決めてください。"
assert kenshu_test.confusion == evaluate_scores(score_images(detector.scorer, images[test_index]), y_test, kenshu_threshold.threshold).confusion, "kenshu_test は、テスト用のスコアを kenshu_threshold.threshold で判定した evaluate_scores にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## どこを見て異常と言ったか（採点されません）
#
# テスト用の不良品のうち、スコアの高いものから 4 枚について、自作のパッチの距離と `fit_anomaly_detector` のヒートマップを並べます。
# `fit_anomaly_detector` のヒートマップは `kenshu inspect` の報告書と同じ `explain_images` で作ります。パッチの方法ならパッチごとの距離、
# ほかの方法なら「そこを隠すとスコアがどれだけ下がるか」（画像の一部を平均の明るさの四角で隠して測る）です。
# 赤い線は、データに不良の位置（マスク画像）があるときのその輪郭です。ヒートマップの明るいところが不良の位置と重なっていれば、
# モデルは正しいところを見ています。背景や部品の縁ばかりが明るいなら、良品の写真のばらつき（置き方、照明）が足りない印です。

# %%
test_defects = test_index[y_test == 1]
kenshu_defect_scores = score_images(detector.scorer, images[test_defects])
top_defects = test_defects[np.argsort(kenshu_defect_scores)[::-1][:4]]
masks = getattr(data, "masks", None)
fig, axes = plt.subplots(3, max(len(top_defects), 1), figsize=(3 * max(len(top_defects), 1), 9), squeeze=False)
own_maps = anomaly_maps(images[top_defects]) if len(top_defects) else []
kenshu_maps = explain_images(detector, images[top_defects])
for column, index in enumerate(top_defects):
    axes[0, column].imshow(images[index], cmap="gray", vmin=0, vmax=1)
    axes[0, column].set_title(f"{data.class_names[data.class_index[index]]}")
    own = np.kron(own_maps[column], np.ones((PATCH_SIZE, PATCH_SIZE)))
    axes[1, column].imshow(images[index], cmap="gray", vmin=0, vmax=1)
    axes[1, column].imshow(own, cmap="jet", alpha=0.45)
    axes[2, column].imshow(images[index], cmap="gray", vmin=0, vmax=1)
    axes[2, column].imshow(kenshu_maps[column], cmap="jet", alpha=0.45)
    for row in range(3):
        if masks is not None and masks[index].any():
            axes[row, column].contour(masks[index], levels=[0.5], colors="red", linewidths=1)
        axes[row, column].axis("off")
axes[1, 0].set_title("自作：パッチの距離", loc="left")
axes[2, 0].set_title("fit_anomaly_detector", loc="left")
fig.suptitle(f"{COMPANY}：テスト用の不良品のヒートマップ")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# {{ company }} のラインを念頭に、5〜10 行で答えてください。
#
# 1. 良品だけで学ぶ方法の見逃し率を、不良品も使って学ぶ方法（04・05）と比べてください。それぞれ自社でどんなときに向いていますか。
# 2. `FALSE_ALARM_TARGET` を 0.01 と 0.10 にすると、見逃しはどう変わりますか（実際に変えて試してください）。自社ならいくつにしますか。
# 3. ヒートマップは不良の位置と重なっていましたか。重なっていなかった画像は、なぜ異常と判定されたと思いますか。
# 4. 良品の写真を集めるとき、何に気をつけますか（照明、ロット、置き方、カメラの位置など）。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）良品だけの方法は見逃し率が 0.3 ほどで、04 の特徴量のモデル（0.1）より高めでした。ただし不良品の写真を 1 枚も使っていないので、
# 見たことのない種類の不良にも反応できます。立ち上げ期や新製品では良品だけの方法で始め、不良品が 20 枚以上集まったら 04・05 の方法に切り替えます。
# FALSE_ALARM_TARGET を 0.10 にすると見逃しは減りましたが、人が見る数が倍になります。検査員の余力から 0.05 とします。
# ヒートマップは穴の位置とほぼ重なっていましたが、1 枚はタイルの端が明るくなっていました。学習用の良品に、端の欠けたような置き方の写真が少ないためと考えます。
# 良品の写真は、照明とカメラの位置を固定し、複数のロットと朝夕の両方から、置き方を少しずつ変えて集めます。
