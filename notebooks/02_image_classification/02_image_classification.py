# %% [markdown]
# # 02 画像検査：良品・不良品を分類する
#
# {{ company }} の課題：**{{ problem }}**
#
# この回では、自社の画像（データ：{{ data_name }}）から特徴量を作り、
# scikit-learn で「{{ good_class }}」と「{{ defect_classes }}」を見分けるモデルを作ります。
# 最後に、ライン上でいちばん大事な数字である **見逃し率** を計算します。
#
# 進め方：
# 1. 画像を読み込む（用意済み）
# 2. 特徴量を作る
# 3. 学習用とテスト用に分ける
# 4. パイプライン（標準化＋分類器）を学習する
# 5. 混同行列と見逃し率で評価する
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `MAX_IMAGES_PER_CLASS` は 1 クラスあたりに読み込む画像の最大枚数で、実行時間を抑えるためのものです。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay, accuracy_score
from scipy import ndimage

from kenshu.datasets import load_image_folder
from kenshu.plotting import use_japanese_font

use_japanese_font()

IMAGE_SIZE = 64
data = load_image_folder(
    DATA_DIR,
    good_class=GOOD_CLASS,
    image_size=IMAGE_SIZE,
    max_per_class=MAX_IMAGES_PER_CLASS,
    random_state=RANDOM_STATE,
)
images = data.images
y = data.target


def surface_features(image):
    """Return statistics of the bright part surface in one image: dark spots (holes, stains) and fine texture.

    The part is the set of pixels brighter than the midpoint between the dark
    background and the brightest metal. Anything dark enclosed by the part counts as a spot.
    """
    threshold = (np.percentile(image, 5) + np.percentile(image, 99)) / 2
    bright = ndimage.binary_opening(image > threshold)
    part = ndimage.binary_fill_holes(bright)
    interior = ndimage.binary_erosion(part, iterations=2)
    spots = interior & ~bright
    spot_labels, spot_count = ndimage.label(spots)
    part_area = max(int(part.sum()), 1)
    spot_areas = np.sort(np.bincount(spot_labels.ravel())[1:])[::-1] / part_area
    spot_areas = np.pad(spot_areas, (0, 6))[:6]

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
print(f"{COMPANY}：画像 {len(y)} 枚（良品 {np.sum(y == 0)} 枚、不良品 {np.sum(y == 1)} 枚）、大きさ {images.shape[1]}×{images.shape[2]}")

# %% [markdown]
# ## 問1 特徴量を作る
#
# 画像の画素をそのまま分類器に入れる方法もありますが、部品の置かれた位置や向きが 1 枚ごとに違うと、
# 同じ画素の場所に写るものが毎回変わってしまい、小さなデータではうまく学習できません。
# そこで、**位置や向きが変わっても変わらない数字**（特徴量）を人が選んで渡します。
#
# - **明るさのヒストグラム**（16 区間、画素数で割って割合にする）：汚れや変色で明るさの分布が変わります。
# - **勾配（エッジ）の統計**：傷・バリ・打痕の縁は明るさが急に変わるので、勾配の大きさの
#   平均・標準偏差・95 と 99 パーセンタイル・最大値が大きくなります。
# - **部品の面の統計**（用意した `surface_features(image)`、1 枚につき 18 個）：
#   明るい面の中の暗い点（穴・汚れ）の数と面積、面の細かい凹凸です。穴が 1 つ足りない、しみがある、といった違いを数えます。
#
# `extract_features(images)` を完成させてください。
# 入力は `(枚数, 高さ, 幅)` の配列（値は 0〜1）、出力は `(枚数, 特徴量の数)` の 2 次元配列で、1 行が 1 枚です。
# ヒント：`np.histogram(image, bins=16, range=(0, 1))`、`np.gradient(images, axis=(1, 2))`、`np.hypot`、`np.percentile`、`np.hstack`。

# %% kenshu="answer" grade_id="features"
def extract_features(images):
    """Return one row of features per image: intensity histogram, gradient statistics and surface statistics."""
    images = np.asarray(images, dtype=np.float32)
    ### BEGIN SOLUTION
    n, height, width = images.shape
    histograms = np.stack([np.histogram(image, bins=16, range=(0.0, 1.0))[0] for image in images])
    histograms = histograms / (height * width)

    gradient_y, gradient_x = np.gradient(images, axis=(1, 2))
    magnitude = np.hypot(gradient_x, gradient_y).reshape(n, -1)
    gradient_stats = np.column_stack(
        [
            magnitude.mean(axis=1),
            magnitude.std(axis=1),
            np.percentile(magnitude, 95, axis=1),
            np.percentile(magnitude, 99, axis=1),
            magnitude.max(axis=1),
        ]
    )

    surfaces = np.stack([surface_features(image) for image in images])
    return np.hstack([histograms, gradient_stats, surfaces])
    ### END SOLUTION


X = extract_features(images)
print("特徴量の形:", X.shape)

# %% kenshu="mistake" answer="features"
def extract_features(images):
    images = np.asarray(images, dtype=np.float32)
    return images.reshape(len(images), -1).mean(axis=1, keepdims=True)


X = extract_features(images)

# %% kenshu="test" grade_id="test_features" points=2
assert isinstance(X, np.ndarray), "X は NumPy 配列にしてください（extract_features の戻り値を確認）。"
assert X.ndim == 2, f"X は 2 次元（枚数, 特徴量の数）にしてください。今は {X.ndim} 次元です。"
assert X.shape[0] == len(y), f"X の行数 {X.shape[0]} が画像の枚数 {len(y)} と違います。1 枚につき 1 行です。"
assert np.all(np.isfinite(X)), "X に NaN か無限大が入っています。0 で割っていないか確認してください。"
### BEGIN HIDDEN TESTS
assert X.shape[1] >= 20, "特徴量が少なすぎます。ヒストグラム・勾配・部品の面の 3 種類を入れてください。"
assert X.std(axis=0).max() > 0, "どの特徴量も全画像で同じ値です。画像ごとに計算しているか確認してください。"
_flat = np.full((1, IMAGE_SIZE, IMAGE_SIZE), 0.5, dtype=np.float32)
_scratched = _flat.copy()
_scratched[0, IMAGE_SIZE // 2, 8:-8] = 0.05
_features = extract_features(np.concatenate([_flat, _scratched]))
assert _features.shape == (2, X.shape[1]), "2 枚の画像には 2 行の特徴量が返るはずです。"
assert not np.allclose(_features[0], _features[1]), "細い傷を 1 本入れた画像と無地の画像の特徴量が同じです。勾配の特徴量を確認してください。"
assert np.allclose(extract_features(images[:3]), X[:3]), "同じ画像から毎回同じ特徴量が出るようにしてください（乱数を使わない）。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 学習用とテスト用に分ける
#
# テスト用のデータは、モデルが一度も見ていない「新しい部品」の代わりです。
# 不良品が少ないと、ランダムに分けただけではテスト側に不良品がほとんど入らないことがあります。
# そこで **層化分割**（`stratify=y`）で、良品と不良品の割合を学習用とテスト用でそろえます。
#
# `train_test_split` で全体の 25% をテスト用にし、`X_train, X_test, y_train, y_test` を作ってください。
# `random_state=RANDOM_STATE` を渡すと、何度実行しても同じ分け方になります。

# %% kenshu="answer" grade_id="split"
### BEGIN SOLUTION
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE
)
### END SOLUTION
print("学習用:", X_train.shape, " テスト用:", X_test.shape)

# %% kenshu="mistake" answer="split"
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=RANDOM_STATE)

# %% kenshu="test" grade_id="test_split" points=2
assert len(X_train) + len(X_test) == len(X), "学習用とテスト用を合わせると全体の枚数になるはずです。"
assert len(X_train) == len(y_train) and len(X_test) == len(y_test), "X と y の行数が学習用・テスト用それぞれでそろっていません。"
assert 0.2 <= len(X_test) / len(X) <= 0.3, f"テスト用の割合が {len(X_test) / len(X):.2f} です。test_size=0.25 にしてください。"
### BEGIN HIDDEN TESTS
assert set(np.unique(y_test)) == {0, 1}, "テスト用に良品と不良品の両方が入っていません。stratify=y を指定してください。"
_tolerance = 1.0 / len(y_test) + 1e-9
assert abs(np.mean(y_train) - np.mean(y)) <= _tolerance, "学習用の不良品の割合が全体と違います。stratify=y で層化分割してください。"
assert abs(np.mean(y_test) - np.mean(y)) <= _tolerance, "テスト用の不良品の割合が全体と違います。stratify=y で層化分割してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 パイプラインを学習する
#
# 特徴量は単位も大きさもばらばらです（画素は 0〜1、ヒストグラムは割合、勾配は小さな値）。
# `StandardScaler` で平均 0・分散 1 にそろえてから分類器に渡すと、ロジスティック回帰は学習しやすくなります。
# 標準化と分類器を `make_pipeline` で 1 つにまとめておくと、テスト用データにも同じ変換が自動でかかります。
#
# `model` を `StandardScaler` ＋ `LogisticRegression`（`max_iter=1000` 程度）のパイプラインにして学習し、
# テスト用の予測を `y_pred` に入れてください。
# 余裕があれば `RandomForestClassifier(random_state=RANDOM_STATE)` に替えて結果を比べてみましょう。

# %% kenshu="answer" grade_id="pipeline"
### BEGIN SOLUTION
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
### END SOLUTION
print(f"テスト用の正解率: {accuracy_score(y_test, y_pred):.3f}")

# %% kenshu="mistake" answer="pipeline"
model = LogisticRegression(max_iter=1000)
model.fit(X_train, y_train)
y_pred = model.predict(X_test)

# %% kenshu="test" grade_id="test_pipeline" points=3
from sklearn.utils.validation import check_is_fitted

assert isinstance(model, Pipeline), "model は make_pipeline で作ったパイプラインにしてください。"
assert isinstance(model.steps[0][1], StandardScaler), "パイプラインの最初の段を StandardScaler にしてください。"
check_is_fitted(model)
assert np.shape(y_pred) == np.shape(y_test), "y_pred はテスト用データ 1 枚につき 1 つの予測にしてください。"
### BEGIN HIDDEN TESTS
assert np.array_equal(np.asarray(y_pred), model.predict(X_test)), "y_pred は model.predict(X_test) の結果にしてください。"
assert model[-1].n_features_in_ == X.shape[1], "分類器が X と違う数の特徴量で学習されています。"
assert accuracy_score(y_train, model.predict(X_train)) > max(np.mean(y_train), 1 - np.mean(y_train)), "学習用データでも「全部同じクラス」と答えるのと変わりません。学習できているか確認してください。"
_majority = max(np.mean(y_test), 1 - np.mean(y_test))
assert accuracy_score(y_test, y_pred) >= _majority - 0.1, "テスト用の正解率が「全部同じクラス」と答えた場合より明らかに低いです。学習用とテスト用を取り違えていないか確認してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 混同行列と見逃し率
#
# 正解率（accuracy）は「当たった割合」ですが、ラインで本当に困るのは **不良品を良品と判定して出荷してしまうこと** です。
# 不良品がもともと少ないラインでは、何も検出しないモデルでも正解率は高く見えます
# （不良が 2% なら「全部良品」と答えるだけで正解率 98%）。
#
# - **見逃し率** ＝ 良品と判定された不良品の数 ÷ 不良品の数（小さいほどよい。お客様に流出する割合）
# - **過検出率** ＝ 不良品と判定された良品の数 ÷ 良品の数（小さいほどよい。人が見直す手間）
#
# ラベルは 0 が良品、1 が不良品です。`miss_rate(y_true, y_pred)` と `false_alarm_rate(y_true, y_pred)` を完成させ、
# `cm` にテスト用データの混同行列（`confusion_matrix`、行が正解・列が予測）を入れてください。

# %% kenshu="answer" grade_id="miss_rate"
def miss_rate(y_true, y_pred):
    """Return the share of true defects (1) that were predicted good (0)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    ### BEGIN SOLUTION
    defects = y_true == 1
    return float(np.mean(y_pred[defects] == 0))
    ### END SOLUTION


def false_alarm_rate(y_true, y_pred):
    """Return the share of good parts (0) that were predicted defect (1)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    ### BEGIN SOLUTION
    good = y_true == 0
    return float(np.mean(y_pred[good] == 1))
    ### END SOLUTION


### BEGIN SOLUTION
cm = confusion_matrix(y_test, y_pred, labels=[0, 1])
### END SOLUTION

display = ConfusionMatrixDisplay(cm, display_labels=["良品", "不良品"])
display.plot(cmap="Blues")
display.ax_.set_xlabel("予測")
display.ax_.set_ylabel("正解")
display.ax_.set_title(f"{COMPANY}：テスト用データの混同行列")
plt.show()

print(f"正解率　: {accuracy_score(y_test, y_pred):.3f}")
print(f"見逃し率: {miss_rate(y_test, y_pred):.3f}（不良品 {np.sum(y_test == 1)} 個のうち {cm[1, 0]} 個を見逃し）")
print(f"過検出率: {false_alarm_rate(y_test, y_pred):.3f}（良品 {np.sum(y_test == 0)} 個のうち {cm[0, 1]} 個を不良と判定）")

# %% kenshu="mistake" answer="miss_rate"
def miss_rate(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    return float(np.mean((y_true == 1) & (y_pred == 0)))


def false_alarm_rate(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    return float(np.mean((y_true == 0) & (y_pred == 1)))


cm = confusion_matrix(y_test, y_pred)

# %% kenshu="test" grade_id="test_miss_rate" points=3
assert abs(miss_rate([1, 1, 1, 1, 0], [0, 1, 1, 1, 0]) - 0.25) < 1e-9, "不良品 4 個のうち 1 個を見逃すと見逃し率は 0.25 です。分母は「不良品の数」です。"
assert abs(false_alarm_rate([0, 0, 0, 0, 1], [1, 0, 0, 0, 1]) - 0.25) < 1e-9, "良品 4 個のうち 1 個を不良と判定すると過検出率は 0.25 です。分母は「良品の数」です。"
assert np.shape(cm) == (2, 2), "cm は 2×2 の混同行列にしてください。"
### BEGIN HIDDEN TESTS
assert miss_rate([1, 1, 0, 0], [1, 1, 1, 1]) == 0.0, "不良品をすべて不良と判定したときの見逃し率は 0 です。"
assert miss_rate([1, 1, 0, 0], [0, 0, 0, 0]) == 1.0, "不良品をすべて良品と判定したときの見逃し率は 1 です。"
assert false_alarm_rate([1, 1, 0, 0], [0, 0, 0, 0]) == 0.0, "良品を 1 個も不良と判定しないときの過検出率は 0 です。"
assert abs(miss_rate(np.array([1, 0, 1, 0, 1]), np.array([0, 0, 1, 1, 1])) - 1 / 3) < 1e-9, "NumPy 配列でも同じように計算できるようにしてください。"
assert np.array_equal(cm, confusion_matrix(y_test, y_pred, labels=[0, 1])), "cm は confusion_matrix(y_test, y_pred) にしてください（行が正解、列が予測）。"
assert abs(miss_rate(y_test, y_pred) - cm[1, 0] / cm[1].sum()) < 1e-9, "見逃し率が混同行列の「正解＝不良品、予測＝良品」のマスと合いません。"
### END HIDDEN TESTS

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# {{ company }} のラインを思い浮かべて、次の問いに答えてください（5〜10 行）。
#
# 1. このモデルの正解率と見逃し率はいくつでしたか。ラインに入れるとしたら、どちらの数字を先に見ますか。それはなぜですか。
# 2. 見逃した不良品が 1 個出荷されると、何が起きますか（お客様、手直し、費用）。
# 3. 見逃し率を下げるために、データ・特徴量・判定のしかたのどれを変えてみたいですか。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）このモデルはテスト用データで正解率も見逃し率も十分ではありませんでした（例：正解率 0.6、見逃し率 0.4。自社の値を書く）。
# 正解率が高く見えても、見逃し率が 0 でなければ不良品がお客様に届きます。
# ラインでは見逃し率を先に見て、見逃しを 0 に近づけた上で過検出率（人が見直す量）を許せる範囲に収めます。
# 見逃しを減らすには、不良品の写真を増やす、しみや傷の形に効く特徴量を足す、画像の特徴を自動で学ぶ CNN を使う、
# 不良と判定するしきい値を下げる（しきい値の回）などが考えられます。
