# %% [markdown]
# # 06 良品だけで学ぶ異常検知
#
# {{ company }} の課題：**{{ problem }}**
#
# 不良品の写真はなかなか集まりません。不良がめったに出ないラインほどそうです。
# そこで、**良品の写真だけ** で「ふつうの部品」を覚え、そこから外れた部品を異常とみなす方法を学びます。
# データ：{{ data_name }}（良品：{{ good_class }}、不良品：{{ defect_classes }}）。
# 不良品の写真は学習には使わず、検証とテストで「本当に見つけられるか」を確かめるためだけに使います。
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。`MAX_IMAGES_PER_CLASS` は 1 クラスあたりの最大枚数です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
from scipy import ndimage
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from kenshu.datasets import load_image_folder
from kenshu.plotting import use_japanese_font

use_japanese_font()


def surface_features(image):
    """Return statistics of the bright part surface in one image: dark spots (holes, stains) and fine texture."""
    threshold = (np.percentile(image, 5) + np.percentile(image, 99)) / 2
    bright = ndimage.binary_opening(image > threshold)
    part = ndimage.binary_fill_holes(bright)
    interior = ndimage.binary_erosion(part, iterations=2)
    spots = interior & ~bright
    spot_labels, spot_count = ndimage.label(spots)
    part_area = max(int(part.sum()), 1)
    spot_areas = np.pad(np.sort(np.bincount(spot_labels.ravel())[1:])[::-1] / part_area, (0, 6))[:6]
    surface = ndimage.binary_erosion(bright, iterations=2) & interior
    if not surface.any():
        surface = np.ones_like(bright)
    residual = (image - ndimage.median_filter(image, size=5))[surface]
    values = image[surface]
    return np.concatenate(
        [
            [spot_count, spots.sum() / part_area],
            spot_areas,
            [np.abs(residual).mean(), residual.std()],
            np.percentile(residual, [0.5, 2, 98, 99.5]),
            [values.std()],
            np.percentile(values, [1, 5, 50]),
        ]
    )


def image_features(images):
    """Return the intensity histogram, gradient statistics and surface statistics per image."""
    images = np.asarray(images, dtype=np.float32)
    n, height, width = images.shape
    histograms = np.stack([np.histogram(image, bins=16, range=(0.0, 1.0))[0] for image in images]) / (height * width)
    gradient_y, gradient_x = np.gradient(images, axis=(1, 2))
    magnitude = np.hypot(gradient_x, gradient_y).reshape(n, -1)
    gradient_stats = np.column_stack(
        [magnitude.mean(axis=1), magnitude.std(axis=1), np.percentile(magnitude, [95, 99], axis=1).T, magnitude.max(axis=1)]
    )
    surfaces = np.stack([surface_features(image) for image in images])
    return np.hstack([histograms, gradient_stats, surfaces])


data = load_image_folder(
    DATA_DIR, good_class=GOOD_CLASS, image_size=64, max_per_class=MAX_IMAGES_PER_CLASS, random_state=RANDOM_STATE
)
X = image_features(data.images)
y = data.target

# Good parts: 60 % to learn from, 20 % to set the threshold, 20 % to test.
# Defects are never learned from: half of them check the threshold, half test it.
rng = np.random.default_rng(RANDOM_STATE)
good = rng.permutation(np.flatnonzero(y == 0))
defect = rng.permutation(np.flatnonzero(y == 1))
n_train, n_validation = int(0.6 * len(good)), int(0.2 * len(good))
train_index = good[:n_train]
validation_index = np.concatenate([good[n_train : n_train + n_validation], defect[: len(defect) // 2]])
test_index = np.concatenate([good[n_train + n_validation :], defect[len(defect) // 2 :]])
X_train_good = X[train_index]
X_validation, y_validation = X[validation_index], y[validation_index]
X_test, y_test = X[test_index], y[test_index]
print(f"{COMPANY}：学習用（良品のみ）{len(train_index)} 枚、検証用 {len(y_validation)} 枚（うち不良品 {int(y_validation.sum())}）、テスト用 {len(y_test)} 枚（うち不良品 {int(y_test.sum())}）")

# %% [markdown]
# ## 問1 良品の平均からの距離
#
# いちばん簡単な異常検知は「良品の平均からどれだけ離れているか」です。特徴量ごとに単位が違うので、
# 良品の学習用データの平均 `mean` と標準偏差 `std` で標準化した値（z 値）`z = (x - mean) / std` を使います。
#
# `distance_scores(train_good, X)` を完成させてください。`X` の 1 行ごとに、z 値の 2 乗の平均の平方根
# （`np.sqrt(np.mean(z ** 2, axis=1))`）を返します。値が大きいほど「良品らしくない」部品です。
# 標準偏差が 0 の特徴量で 0 で割らないよう、`std` には `1e-9` を足してください。

# %% kenshu="answer" grade_id="distance"
def distance_scores(train_good, X):
    """Return the root-mean-square z-score of each row of X against the good training rows."""
    train_good = np.asarray(train_good, dtype=float)
    X = np.asarray(X, dtype=float)
    ### BEGIN SOLUTION
    mean = train_good.mean(axis=0)
    std = train_good.std(axis=0) + 1e-9
    z = (X - mean) / std
    return np.sqrt(np.mean(z**2, axis=1))
    ### END SOLUTION


distance_test = distance_scores(X_train_good, X_test)
print(f"良品の平均からの距離：ROC AUC {roc_auc_score(y_test, distance_test):.3f}")

# %% kenshu="mistake" answer="distance"
def distance_scores(train_good, X):
    X = np.asarray(X, dtype=float)
    return np.sqrt(np.mean((X - np.asarray(train_good).mean(axis=0)) ** 2, axis=1))


distance_test = distance_scores(X_train_good, X_test)

# %% kenshu="test" grade_id="test_distance" points=2
_train = np.array([[0.0, 10.0], [2.0, 30.0]])
assert np.allclose(distance_scores(_train, [[1.0, 20.0]]), [0.0], atol=1e-6), "良品の平均と同じ行の距離は 0 です。"
assert np.shape(distance_test) == (len(y_test),), "distance_test はテスト用の画像 1 枚につき 1 つの値にしてください。"
### BEGIN HIDDEN TESTS
assert np.allclose(distance_scores(_train, [[3.0, 20.0]]), [np.sqrt(2.0)], rtol=1e-6), "z 値で測ってください。平均 (1, 20)、標準偏差 (1, 10) なら (3, 20) の z は (2, 0) で、距離は √((4 + 0) / 2) ＝ √2 です。"
assert np.allclose(distance_scores(_train, [[1.0, 40.0]]), [np.sqrt(2.0)], rtol=1e-6), "単位の大きな特徴量も標準偏差で割ってください。(1, 40) の z は (0, 2) です。"
assert np.all(np.isfinite(distance_scores(np.array([[1.0, 5.0], [1.0, 7.0]]), [[2.0, 6.0]]))), "標準偏差が 0 の特徴量があっても、無限大にならないようにしてください（std に 1e-9 を足す）。"
assert np.allclose(distance_test, distance_scores(X_train_good, X_test)), "distance_test は distance_scores(X_train_good, X_test) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 IsolationForest
#
# `IsolationForest` は、データをランダムな線で区切っていき、**少ない回数で孤立する点** を異常とみなします。
# 特徴量どうしの組み合わせの珍しさも拾えるのが、平均からの距離との違いです。
#
# `StandardScaler` ＋ `IsolationForest(n_estimators=200, random_state=RANDOM_STATE)` のパイプライン `forest` を
# **良品の学習用データだけ**（`X_train_good`）で学習し、テスト用の異常スコア（大きいほど異常、`-forest.score_samples(X_test)`）を
# `forest_test` に入れてください。

# %% kenshu="answer" grade_id="forest"
### BEGIN SOLUTION
forest = make_pipeline(StandardScaler(), IsolationForest(n_estimators=200, random_state=RANDOM_STATE))
forest.fit(X_train_good)
forest_test = -forest.score_samples(X_test)
### END SOLUTION
print(f"IsolationForest：ROC AUC {roc_auc_score(y_test, forest_test):.3f}")

# %% kenshu="mistake" answer="forest"
forest = make_pipeline(StandardScaler(), IsolationForest(random_state=RANDOM_STATE))
forest.fit(np.vstack([X_train_good, X_test]))
forest_test = forest.score_samples(X_test)

# %% kenshu="test" grade_id="test_forest" points=3
assert isinstance(forest, Pipeline) and isinstance(forest[-1], IsolationForest), "forest は StandardScaler と IsolationForest のパイプラインにしてください。"
assert np.shape(forest_test) == (len(y_test),), "forest_test はテスト用の画像 1 枚につき 1 つの値にしてください。"
### BEGIN HIDDEN TESTS
assert np.allclose(forest[0].mean_, X_train_good.mean(axis=0)), "forest は良品の学習用データ（X_train_good）だけで学習してください。テスト用データを混ぜてはいけません。"
assert np.allclose(forest_test, -forest.score_samples(X_test)), "forest_test は -forest.score_samples(X_test)（大きいほど異常）にしてください。"
_far = X_train_good.mean(axis=0) + 10 * X_train_good.std(axis=0)
assert -forest.score_samples(_far.reshape(1, -1))[0] > np.median(forest_test), "良品から大きく外れた部品のスコアが小さくなっています。符号を確認してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 比べる：ROC AUC とスコアの分布
#
# ROC AUC は「不良品を 1 枚、良品を 1 枚ランダムに選んだとき、不良品のスコアのほうが高い確率」です。
# 0.5 なら当てずっぽう、1.0 なら完全に分けられます。
#
# 2 つの方法のテスト用の ROC AUC を辞書 `auc`（キーは `"距離"` と `"IsolationForest"`）に入れてください。
# 下のグラフで、良品と不良品のスコアがどれだけ重なっているかも見ましょう。

# %% kenshu="answer" grade_id="compare"
### BEGIN SOLUTION
auc = {
    "距離": roc_auc_score(y_test, distance_test),
    "IsolationForest": roc_auc_score(y_test, forest_test),
}
### END SOLUTION

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for axis, (name, scores) in zip(axes, [("距離", distance_test), ("IsolationForest", forest_test)]):
    axis.hist(scores[y_test == 0], bins=20, alpha=0.6, label="良品")
    axis.hist(scores[y_test == 1], bins=20, alpha=0.6, label="不良品")
    axis.set_title(f"{name}（ROC AUC {auc[name]:.2f}）")
    axis.set_xlabel("異常スコア（大きいほど異常）")
    axis.set_ylabel("枚数")
    axis.legend()
fig.suptitle(f"{COMPANY}：テスト用データの異常スコア")
plt.tight_layout()
plt.show()

# %% kenshu="mistake" answer="compare"
auc = {"距離": roc_auc_score(y_test, -distance_test), "IsolationForest": roc_auc_score(y_test, -forest_test)}

# %% kenshu="test" grade_id="test_compare" points=2
assert set(auc) == {"距離", "IsolationForest"}, "auc のキーは「距離」と「IsolationForest」にしてください。"
assert all(0.0 <= value <= 1.0 for value in auc.values()), "ROC AUC は 0〜1 の値です。"
### BEGIN HIDDEN TESTS
assert abs(auc["距離"] - roc_auc_score(y_test, distance_test)) < 1e-9, "auc['距離'] は roc_auc_score(y_test, distance_test) です（正解ラベルが先）。"
assert abs(auc["IsolationForest"] - roc_auc_score(y_test, forest_test)) < 1e-9, "auc['IsolationForest'] は roc_auc_score(y_test, forest_test) です。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 良品だけでしきい値を決める
#
# 不良品がほとんどない工場では、しきい値も良品だけで決めます。
# 検証用の **良品** のスコアの上位 `FALSE_ALARM_TARGET`（例えば 5%）を超えたら異常、と決めれば、
# 良品を人に回す割合（過検出率）はおよそ `FALSE_ALARM_TARGET` になります。そのとき不良品をどれだけ見逃すかは、テスト用データで確かめます。
#
# IsolationForest の検証用のスコアを計算し、検証用の良品のスコアの `1 - FALSE_ALARM_TARGET` 分位点（`np.quantile`）を `threshold` に、
# テスト用データでスコアが `threshold` 以上なら不良とした判定の見逃し率を `test_miss_rate`、過検出率を `test_false_alarm_rate` に入れてください。

# %%
FALSE_ALARM_TARGET = 0.05

# %% kenshu="answer" grade_id="threshold"
### BEGIN SOLUTION
forest_validation = -forest.score_samples(X_validation)
threshold = float(np.quantile(forest_validation[y_validation == 0], 1 - FALSE_ALARM_TARGET))
flagged = forest_test >= threshold
test_miss_rate = float(np.mean(~flagged[y_test == 1]))
test_false_alarm_rate = float(np.mean(flagged[y_test == 0]))
### END SOLUTION
print(f"しきい値 {threshold:.3f}：テスト用の見逃し率 {test_miss_rate:.3f}、過検出率 {test_false_alarm_rate:.3f}")

# %% kenshu="mistake" answer="threshold"
threshold = float(np.quantile(forest_test, 1 - FALSE_ALARM_TARGET))
flagged = forest_test >= threshold
test_miss_rate = float(np.mean(~flagged[y_test == 1]))
test_false_alarm_rate = float(np.mean(flagged[y_test == 0]))

# %% kenshu="test" grade_id="test_threshold" points=3
assert 0.0 <= test_miss_rate <= 1.0 and 0.0 <= test_false_alarm_rate <= 1.0, "見逃し率と過検出率は 0〜1 の割合です。"
### BEGIN HIDDEN TESTS
_validation_scores = -forest.score_samples(X_validation)
_threshold = np.quantile(_validation_scores[y_validation == 0], 1 - FALSE_ALARM_TARGET)
assert abs(threshold - _threshold) < 1e-9, "threshold は検証用の良品のスコア（X_validation のうち y_validation == 0）の 1 - FALSE_ALARM_TARGET 分位点です。テスト用データで決めてはいけません。"
assert abs(test_miss_rate - np.mean(forest_test[y_test == 1] < _threshold)) < 1e-9, "test_miss_rate は、テスト用の不良品のうちスコアがしきい値未満のものの割合です。"
assert abs(test_false_alarm_rate - np.mean(forest_test[y_test == 0] >= _threshold)) < 1e-9, "test_false_alarm_rate は、テスト用の良品のうちスコアがしきい値以上のものの割合です。"
### END HIDDEN TESTS

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# {{ company }} のラインを念頭に、5〜10 行で答えてください。
#
# 1. 良品だけで学ぶ方法と、02 の良品・不良品の両方で学ぶ方法を比べて、見逃し率はどうでしたか。それぞれ自社でどんなときに向いていますか。
# 2. `FALSE_ALARM_TARGET` を 1% と 10% にすると、見逃しはどう変わりますか（実際に変えて試してください）。自社ならいくつにしますか。
# 3. 良品の写真を集めるとき、何に気をつけますか（照明、ロット、季節、カメラの位置など）。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）良品だけの方法は、見たことのない種類の不良にも反応できる反面、良品のばらつき（照明やロットの違い）も異常と見てしまうため、見逃し率は 02 より高めでした。
# 不良品の写真が少ない立ち上げ期は良品だけの方法で始め、不良品が集まったら 02 の方法に切り替えるのがよいと考えます。
# FALSE_ALARM_TARGET を 10% にすると見逃しは減りましたが、人が見る数が倍になります。検査員の余力から 5% とします。
# 良品の写真は、照明とカメラの位置を固定し、複数のロットと朝夕の両方から集めます。
