# %% [markdown]
# # 04 画像の特徴量と古典的な機械学習
#
# {{ company }} の課題：**{{ problem }}**
#
# 02 では用意された特徴量で分類しました。この回では、特徴量そのものを自分の手で作ります。
# 画像（データ：{{ data_name }}）は数千個の画素の並びですが、分類器に渡すのは
# 「この部品は暗いか」「強い縁があるか」「小さなしみがあるか」といった、1 枚につき数個〜数十個の数字です。
# この数字を **特徴量** と呼びます。
#
# 進め方：
# 1. 明るさの統計を計算する
# 2. 縁（勾配）の強さを計算する
# 3. 周りより暗い点・明るい点（しみ、穴、打痕）を数える
# 4. scikit-learn のパイプラインを学習用データだけで交差検証する
# 5. `kenshu inspect` が使う `fit_feature_baseline` と比べ、混同行列と見逃し率・過検出率を見る
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `MAX_IMAGES_PER_CLASS` は 1 クラスあたりに読み込む画像の最大枚数、`IMAGE_SIZE` は縮小後の一辺の画素数です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150
IMAGE_SIZE = 64

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
from scipy import ndimage
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.inspection import evaluate_scores, fit_feature_baseline, score_images
from kenshu.plotting import use_japanese_font

use_japanese_font()

data = load_image_folder(
    DATA_DIR,
    good_class=GOOD_CLASS,
    image_size=IMAGE_SIZE,
    max_per_class=MAX_IMAGES_PER_CLASS,
    random_state=RANDOM_STATE,
    write_card=False,
)
images = data.images
y = data.target

# The same stratified split as `kenshu inspect`: 60 % training, 20 % validation, 20 % test.
train_index, validation_index, test_index = train_validation_test_split(y, random_state=RANDOM_STATE)
y_train, y_validation, y_test = y[train_index], y[validation_index], y[test_index]

if np.bincount(y_train, minlength=2).min() < 2:
    raise ValueError(
        f"学習用の画像が少なすぎます（良品 {np.sum(y_train == 0)} 枚、不良品 {np.sum(y_train == 1)} 枚）。"
        "良品・不良品とも 2 枚以上必要です。不良品の写真が少ないときは 06 の良品だけの方法を使います。講師に連絡してください。"
    )

# A pixel is a "spot" when it differs from the mean of its 7 x 7 neighbourhood by more than this.
SPOT_LEVEL = 0.1
# Five folds, or fewer when the training split has fewer than five images of a class.
N_FOLDS = int(min(5, np.bincount(y_train, minlength=2).min()))

print(f"{COMPANY}：画像 {len(y)} 枚（良品 {np.sum(y == 0)} 枚、不良品 {np.sum(y == 1)} 枚）、{IMAGE_SIZE}×{IMAGE_SIZE} 画素")
print(f"学習用 {len(train_index)} 枚、検証用 {len(validation_index)} 枚、テスト用 {len(test_index)} 枚")

fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for row, label in enumerate([0, 1]):
    for column, index in enumerate(np.flatnonzero(y == label)[:6]):
        axes[row, column].imshow(images[index], cmap="gray", vmin=0, vmax=1)
    for axis in axes[row]:
        axis.axis("off")
    axes[row, 0].set_title(data.target_names[label], loc="left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 問1 明るさの統計
#
# いちばん簡単な特徴量は明るさです。汚れや焼けで部品全体が暗くなれば **平均** が下がり、
# 明るい面に黒いしみがあれば **標準偏差** が上がり、**1 パーセンタイル**（暗いほうから 1% の画素の値）が下がります。
#
# `brightness_features(images)` を完成させてください。入力は `(枚数, 高さ, 幅)` の配列（値は 0〜1）です。
# 1 枚ごとに「平均、標準偏差、1 パーセンタイル、99 パーセンタイル」の 4 つを計算し、`(枚数, 4)` の配列を返します。
#
# ヒント：画像を `images.reshape(len(images), -1)` で 1 枚 1 行にすると、`axis=1` で 1 枚ごとに計算できます。
# `np.percentile(values, [1, 99], axis=1)` は `(2, 枚数)` の配列を返すので、`.T` で向きをそろえます。

# %% kenshu="answer" grade_id="brightness"
def brightness_features(images):
    """Return mean, standard deviation, 1st and 99th percentile of the pixels of each image, shape (n, 4)."""
    images = np.asarray(images, dtype=np.float64)
    ### BEGIN SOLUTION
    flat = images.reshape(len(images), -1)
    return np.column_stack(
        [flat.mean(axis=1), flat.std(axis=1), np.percentile(flat, [1, 99], axis=1).T]
    )
    ### END SOLUTION


brightness = brightness_features(images)
print("明るさの特徴量:", brightness.shape)
for label in [0, 1]:
    mean_row = brightness[y == label].mean(axis=0)
    print(f"  {data.target_names[label]}の平均：明るさ {mean_row[0]:.3f}、標準偏差 {mean_row[1]:.3f}、1% {mean_row[2]:.3f}、99% {mean_row[3]:.3f}")

# %% kenshu="mistake" answer="brightness"
def brightness_features(images):
    images = np.asarray(images, dtype=np.float64)
    return np.column_stack(
        [images.mean(axis=(1, 2)), images.std(axis=(1, 2)), images.min(axis=(1, 2)), images.max(axis=(1, 2))]
    )


brightness = brightness_features(images)

# %% kenshu="test" grade_id="test_brightness" points=2
assert isinstance(brightness, np.ndarray), "brightness_features は NumPy 配列を返してください。"
assert brightness.shape == (len(images), 4), f"brightness の形は (枚数, 4) = {(len(images), 4)} のはずです。今は {np.shape(brightness)} です。"
### BEGIN HIDDEN TESTS
_flat = np.full((1, 10, 10), 0.5)
assert np.allclose(brightness_features(_flat), [[0.5, 0.0, 0.5, 0.5]]), "明るさ 0.5 の無地の画像では（平均, 標準偏差, 1%, 99%）＝（0.5, 0, 0.5, 0.5）です。"
_half = np.zeros((1, 10, 10))
_half[0, :, 5:] = 1.0
assert np.allclose(brightness_features(_half), [[0.5, 0.5, 0.0, 1.0]]), "半分が 0、半分が 1 の画像では（平均, 標準偏差, 1%, 99%）＝（0.5, 0.5, 0, 1）です。"
_one_dark = np.full((1, 20, 20), 0.8)
_one_dark[0, 3, 3] = 0.0
assert abs(brightness_features(_one_dark)[0, 2] - 0.8) < 1e-6, "1 画素だけ黒い画像の 1 パーセンタイルはほぼ 0.8 のままです。最小値ではなく np.percentile を使ってください。"
assert np.allclose(brightness_features(np.concatenate([_flat, 1 - _half])), np.vstack([brightness_features(_flat), brightness_features(1 - _half)])), "1 枚ごとに計算してください。ほかの画像の値が混ざっています。"
assert np.allclose(brightness, brightness_features(images)), "brightness は brightness_features(images) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 縁（勾配）の強さ
#
# 傷・バリ・割れの縁では、隣どうしの画素の明るさが急に変わります。この変わり方を **勾配** と呼びます。
# `np.gradient(images, axis=(1, 2))` は縦方向と横方向の勾配を返します。2 つを `np.hypot` で合わせた値が **勾配の大きさ** で、
# 傷がどちらを向いていても同じ大きさになります。
#
# `edge_features(images)` を完成させてください。1 枚ごとに、勾配の大きさの「平均、99 パーセンタイル、最大値」を並べた
# `(枚数, 3)` の配列を返します。平均は縁の多さ、99 パーセンタイルと最大値はいちばん鋭い縁の強さを表します。

# %% kenshu="answer" grade_id="edges"
def edge_features(images):
    """Return mean, 99th percentile and maximum of the gradient magnitude of each image, shape (n, 3)."""
    images = np.asarray(images, dtype=np.float64)
    ### BEGIN SOLUTION
    gradient_y, gradient_x = np.gradient(images, axis=(1, 2))
    magnitude = np.hypot(gradient_x, gradient_y).reshape(len(images), -1)
    return np.column_stack([magnitude.mean(axis=1), np.percentile(magnitude, 99, axis=1), magnitude.max(axis=1)])
    ### END SOLUTION


edges = edge_features(images)
print("縁の特徴量:", edges.shape)

# The gradient magnitude of two example images, as the features see them.
fig, axes = plt.subplots(2, 2, figsize=(6, 6))
for row, label in enumerate([0, 1]):
    example = images[np.flatnonzero(y == label)[0]]
    gradient_y, gradient_x = np.gradient(example)
    axes[row, 0].imshow(example, cmap="gray", vmin=0, vmax=1)
    axes[row, 1].imshow(np.hypot(gradient_x, gradient_y), cmap="magma")
    axes[row, 0].set_title(f"{data.target_names[label]}：元の画像")
    axes[row, 1].set_title("勾配の大きさ")
    for axis in axes[row]:
        axis.axis("off")
plt.tight_layout()
plt.show()

# %% kenshu="mistake" answer="edges"
def edge_features(images):
    images = np.asarray(images, dtype=np.float64)
    gradient_x = np.abs(np.diff(images, axis=2)).reshape(len(images), -1)
    return np.column_stack([gradient_x.mean(axis=1), np.percentile(gradient_x, 99, axis=1), gradient_x.max(axis=1)])


edges = edge_features(images)

# %% kenshu="test" grade_id="test_edges" points=2
assert isinstance(edges, np.ndarray), "edge_features は NumPy 配列を返してください。"
assert edges.shape == (len(images), 3), f"edges の形は (枚数, 3) のはずです。今は {np.shape(edges)} です。"
### BEGIN HIDDEN TESTS
assert np.allclose(edge_features(np.full((2, 12, 12), 0.3)), 0.0), "無地の画像には縁がないので、3 つとも 0 です。"
_ramp = np.tile(np.linspace(0.0, 1.0, 11), (11, 1))[None]
assert np.allclose(edge_features(_ramp), 0.1), "横に 0.1 ずつ明るくなる画像では、勾配の大きさはどこでも 0.1 です（np.gradient と np.hypot を使う）。"
_scratch = np.full((1, 16, 16), 0.6)
_scratch[0, 8, 2:14] = 0.1
_horizontal = edge_features(_scratch)
_vertical = edge_features(np.transpose(_scratch, (0, 2, 1)))
assert np.allclose(_horizontal, _vertical), "横向きの傷と縦向きの傷で特徴量が違います。縦と横の両方の勾配を np.hypot で合わせてください。"
assert _horizontal[0, 2] > _horizontal[0, 0] > 0, "傷のある画像では、勾配の最大値は平均より大きいはずです。列の順番（平均、99%、最大値）を確認してください。"
assert np.allclose(edges, edge_features(images)), "edges は edge_features(images) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 周りより暗い点・明るい点
#
# 明るさの統計や勾配は画像全体をまとめた数字なので、数画素の小さな穴やしみは埋もれてしまいます。
# そこで、各画素を **周り 7×7 画素の平均** と比べます。この差（残差）が大きくマイナスなら周りより暗い点、大きくプラスなら明るい点です。
# 照明のむらのようにゆっくり変わる明るさは、周りの平均も一緒に変わるので残差には残りません。
#
# `spot_features(images)` を完成させてください。
#
# 1. 周りの平均：`ndimage.uniform_filter(images, size=(1, 7, 7), mode="nearest")`（最初の 1 は「画像どうしを混ぜない」の意味）
# 2. 残差 ＝ 画像 − 周りの平均
# 3. 1 枚ごとに「残差の最小値（いちばん暗い点の深さ）、残差の最大値、残差の絶対値が `SPOT_LEVEL` を超える画素の割合」を並べ、
#    `(枚数, 3)` の配列を返します。

# %% kenshu="answer" grade_id="spots"
def spot_features(images):
    """Return the min and max of the residual against the 7 x 7 local mean, and the share of spot pixels, shape (n, 3)."""
    images = np.asarray(images, dtype=np.float64)
    ### BEGIN SOLUTION
    local_mean = ndimage.uniform_filter(images, size=(1, 7, 7), mode="nearest")
    residual = (images - local_mean).reshape(len(images), -1)
    return np.column_stack(
        [residual.min(axis=1), residual.max(axis=1), np.mean(np.abs(residual) > SPOT_LEVEL, axis=1)]
    )
    ### END SOLUTION


spots = spot_features(images)
print("暗い点・明るい点の特徴量:", spots.shape)
for label in [0, 1]:
    print(f"  {data.target_names[label]}：いちばん暗い点の深さの平均 {spots[y == label, 0].mean():.3f}、点の画素の割合の平均 {spots[y == label, 2].mean():.4f}")

# %% kenshu="mistake" answer="spots"
def spot_features(images):
    images = np.asarray(images, dtype=np.float64)
    residual = (images - images.mean(axis=(1, 2), keepdims=True)).reshape(len(images), -1)
    return np.column_stack(
        [residual.min(axis=1), residual.max(axis=1), np.mean(np.abs(residual) > SPOT_LEVEL, axis=1)]
    )


spots = spot_features(images)

# %% kenshu="test" grade_id="test_spots" points=2
assert isinstance(spots, np.ndarray), "spot_features は NumPy 配列を返してください。"
assert spots.shape == (len(images), 3), f"spots の形は (枚数, 3) のはずです。今は {np.shape(spots)} です。"
### BEGIN HIDDEN TESTS
assert np.allclose(spot_features(np.full((1, 20, 20), 0.7)), 0.0), "無地の画像には点がないので、3 つとも 0 です。"
_dot = np.full((1, 32, 32), 0.5)
_dot[0, 16, 16] = 0.0
_result = spot_features(_dot)[0]
assert -0.5 < _result[0] < -0.4, f"明るさ 0.5 の中の黒い 1 画素は、周りの平均より約 0.49 暗いはずです（今は {_result[0]:.3f}）。"
assert abs(_result[2] - 1 / (32 * 32)) < 1e-9, "黒い 1 画素だけの画像では、点の画素の割合は 1/(32×32) です。SPOT_LEVEL と比べてください。"
_ramp = np.tile(np.linspace(0.2, 0.8, 32), (32, 1))[None]
_ramp_spots = spot_features(_ramp)[0]
assert np.abs(_ramp_spots[:2]).max() < 0.02, "ゆっくり明るくなる画像（照明のむら）では残差はほぼ 0 です。画像全体の平均ではなく、周り 7×7 の平均と比べてください。"
assert _ramp_spots[2] == 0, "ゆっくり明るくなる画像（照明のむら）に点はありません。画像全体の平均ではなく、周り 7×7 の平均と比べてください。"
assert np.allclose(spots, spot_features(images)), "spots は spot_features(images) にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 特徴量をまとめる
#
# 3 種類の特徴量を横に並べて、1 枚 1 行の表 `X` にします（用意済み）。学習用・検証用・テスト用の分け方は、`kenshu inspect` と同じです。

# %%
X = np.hstack([brightness, edges, spots])
feature_names = ["平均", "標準偏差", "1%", "99%", "勾配の平均", "勾配の99%", "勾配の最大", "暗い点", "明るい点", "点の割合"]
X_train, X_validation, X_test = X[train_index], X[validation_index], X[test_index]
print("X の形:", X.shape)

fig, axes = plt.subplots(2, 5, figsize=(14, 5))
for axis, column, name in zip(axes.ravel(), range(X.shape[1]), feature_names):
    axis.hist([X[y == 0, column], X[y == 1, column]], bins=15, label=list(data.target_names))
    axis.set_title(name)
axes[0, 0].legend()
fig.suptitle(f"{COMPANY}：特徴量ごとの良品と不良品の分布")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 問4 パイプラインと交差検証
#
# 学習用データで何度も試して特徴量やモデルを選ぶと、検証用・テスト用の数字は選んだ分だけ甘くなります。
# そこで、モデルを比べるときは **学習用データの中だけ** で **交差検証** をします。
# 学習用を `N_FOLDS` 個に分け、1 つを試験に、残りを学習に使うことを `N_FOLDS` 回くり返して、ROC AUC の平均を見ます。
#
# 1. `model` を `StandardScaler` ＋ 分類器のパイプラインにしてください。分類器は
#    `LogisticRegression(max_iter=1000, class_weight="balanced")` か
#    `RandomForestClassifier(n_estimators=200, random_state=RANDOM_STATE)` のどちらでもかまいません。
# 2. `cv = StratifiedKFold(N_FOLDS, shuffle=True, random_state=RANDOM_STATE)` を作り、
#    `cross_val_score(model, X_train, y_train, cv=cv, scoring="roc_auc")` の結果を `cv_scores` に入れてください。
# 3. 最後に `model` を学習用データ全体（`X_train, y_train`）で学習してください。
#
# 時間があれば、もう一方の分類器でも交差検証して比べてみましょう。

# %% kenshu="answer" grade_id="cross_validation"
### BEGIN SOLUTION
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
cv = StratifiedKFold(N_FOLDS, shuffle=True, random_state=RANDOM_STATE)
cv_scores = cross_val_score(model, X_train, y_train, cv=cv, scoring="roc_auc")
model.fit(X_train, y_train)
### END SOLUTION
print(f"交差検証の ROC AUC：{np.round(cv_scores, 3)}、平均 {np.mean(cv_scores):.3f}")

# %% kenshu="mistake" answer="cross_validation"
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
cv = StratifiedKFold(N_FOLDS, shuffle=True, random_state=RANDOM_STATE)
cv_scores = cross_val_score(model, X, y, cv=cv, scoring="roc_auc")
model.fit(X, y)

# %% kenshu="test" grade_id="test_cross_validation" points=3
from sklearn.utils.validation import check_is_fitted

assert isinstance(model, Pipeline), "model は make_pipeline で作ったパイプラインにしてください。"
assert isinstance(model.steps[0][1], StandardScaler), "パイプラインの最初の段を StandardScaler にしてください。"
assert np.shape(cv_scores) == (N_FOLDS,), f"cv_scores は {N_FOLDS} 個（分割の数）の値にしてください。"
assert np.all((0 <= np.asarray(cv_scores)) & (np.asarray(cv_scores) <= 1)), "cv_scores は ROC AUC（0〜1）です。scoring=\"roc_auc\" を指定してください。"
### BEGIN HIDDEN TESTS
check_is_fitted(model)
assert model[-1].n_features_in_ == X.shape[1], "分類器が X と違う数の特徴量で学習されています。"
assert np.allclose(model[0].mean_, X_train.mean(axis=0)), "model は学習用データ（X_train）だけで学習してください。検証用・テスト用を混ぜてはいけません。"
_cv = StratifiedKFold(N_FOLDS, shuffle=True, random_state=RANDOM_STATE)
_again = cross_val_score(clone(model), X_train, y_train, cv=_cv, scoring="roc_auc")
assert np.allclose(np.sort(cv_scores), np.sort(_again)), "cv_scores が、学習用データ（X_train, y_train）での StratifiedKFold(N_FOLDS, shuffle=True, random_state=RANDOM_STATE) と ROC AUC の交差検証と合いません。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問5 kenshu の特徴量ベースラインと比べる
#
# `kenshu inspect` は、同じ考え方の特徴量（明るさ、向きごとの勾配、細かい模様、周りとの差）をもっと多く作り、
# ロジスティック回帰で学習します。その関数 `fit_feature_baseline` を、自分のモデルと同じ学習用の画像で学習させて、
# **検証用データ** で比べます。
#
# 1. `baseline = fit_feature_baseline(images[train_index], y_train, random_state=RANDOM_STATE)`
# 2. 検証用のスコア（不良品らしさ、0〜1）を 2 つ作ります：
#    `our_scores` ＝ `model.predict_proba(X_validation)[:, 1]`、`baseline_scores` ＝ `score_images(baseline.scorer, images[validation_index])`
# 3. `evaluate_scores(スコア, 正解, しきい値)` で、しきい値 0.5 のときの成績を辞書 `results` に入れてください。
#    キーは `"自作"` と `"kenshu"`、値は `evaluate_scores` の戻り値です。
#
# `evaluate_scores` の戻り値には、`miss_rate`（見逃し率）、`false_alarm_rate`（過検出率）、`roc_auc`、
# `confusion`（混同行列：行が正解、列が判定）が入っています。

# %% kenshu="answer" grade_id="baseline"
### BEGIN SOLUTION
baseline = fit_feature_baseline(images[train_index], y_train, random_state=RANDOM_STATE)
our_scores = model.predict_proba(X_validation)[:, 1]
baseline_scores = score_images(baseline.scorer, images[validation_index])
results = {
    "自作": evaluate_scores(our_scores, y_validation, 0.5),
    "kenshu": evaluate_scores(baseline_scores, y_validation, 0.5),
}
### END SOLUTION

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for axis, (name, result) in zip(axes, results.items()):
    ConfusionMatrixDisplay(np.array(result.confusion), display_labels=["良品", "不良品"]).plot(ax=axis, cmap="Blues", colorbar=False)
    axis.set_xlabel("判定")
    axis.set_ylabel("正解")
    axis.set_title(f"{name}：見逃し率 {result.miss_rate:.2f}、過検出率 {result.false_alarm_rate:.2f}")
fig.suptitle(f"{COMPANY}：検証用データの混同行列（しきい値 0.5）")
plt.tight_layout()
plt.show()
for name, result in results.items():
    print(f"{name}：ROC AUC {result.roc_auc:.3f}、見逃し率 {result.miss_rate:.3f}、過検出率 {result.false_alarm_rate:.3f}")
print(f"kenshu の特徴量の数 {baseline.details['n_features']}（自作は {X.shape[1]}）")

# %% kenshu="mistake" answer="baseline"
baseline = fit_feature_baseline(images[train_index], y_train, random_state=RANDOM_STATE)
our_scores = model.predict(X_validation)
baseline_scores = score_images(baseline.scorer, images[validation_index])
results = {
    "自作": evaluate_scores(y_validation, our_scores, 0.5),
    "kenshu": evaluate_scores(y_validation, baseline_scores, 0.5),
}

# %% kenshu="test" grade_id="test_baseline" points=3
assert baseline.kind == "features", "baseline は fit_feature_baseline の戻り値にしてください。"
assert np.shape(our_scores) == (len(validation_index),), "our_scores は検証用の画像 1 枚につき 1 つにしてください。"
assert np.shape(baseline_scores) == (len(validation_index),), "baseline_scores は検証用の画像 1 枚につき 1 つにしてください。"
assert set(results) == {"自作", "kenshu"}, "results のキーは「自作」と「kenshu」にしてください。"
### BEGIN HIDDEN TESTS
assert np.allclose(our_scores, model.predict_proba(X_validation)[:, 1]), "our_scores は不良品の確率 model.predict_proba(X_validation)[:, 1] にしてください（predict の 0/1 ではなく）。"
_again = fit_feature_baseline(images[train_index], y_train, random_state=RANDOM_STATE)
assert np.allclose(baseline_scores, score_images(_again.scorer, images[validation_index]), atol=1e-6), "baseline は学習用の画像（images[train_index], y_train）で学習し、検証用の画像を採点してください。"
for _name, _scores in [("自作", our_scores), ("kenshu", baseline_scores)]:
    _expected = evaluate_scores(_scores, y_validation, 0.5)
    assert results[_name].confusion == _expected.confusion, f"results['{_name}'] は evaluate_scores(スコア, y_validation, 0.5) にしてください（スコアが先、正解が後）。"
    assert results[_name].n_defect == int(np.sum(y_validation == 1)), f"results['{_name}'] は検証用データで計算してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## テスト用データで最後に 1 回だけ確かめる
#
# 検証用データで比べて選んだあとは、一度も見ていないテスト用データで 1 回だけ成績を測ります（採点されません）。
# ここで悪い結果が出ても、テスト用データを見ながら作り直してはいけません。作り直すなら、新しいテスト用の写真を用意します。

# %%
chosen_name = max(results, key=lambda name: results[name].roc_auc)
chosen_scores = model.predict_proba(X_test)[:, 1] if chosen_name == "自作" else score_images(baseline.scorer, images[test_index])
final = evaluate_scores(chosen_scores, y_test, 0.5)
print(f"検証用で ROC AUC が高かったのは「{chosen_name}」")
print(f"テスト用：ROC AUC {final.roc_auc:.3f}、見逃し率 {final.miss_rate:.3f}（不良品 {final.n_defect} 枚）、過検出率 {final.false_alarm_rate:.3f}（良品 {final.n_good} 枚）")

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# {{ company }} のラインを思い浮かべて、次の問いに答えてください（5〜10 行）。
#
# 1. 自作した 10 個の特徴量のうち、良品と不良品の分布がいちばん違ったのはどれでしたか（特徴量ごとのヒストグラム）。それはなぜだと思いますか。
# 2. 自作のモデルと kenshu の特徴量ベースラインで、見逃し率と過検出率はどう違いましたか。
# 3. 自社の不良（{{ defect_classes }}）を見つけるために、ほかにどんな特徴量を足したいですか。不良の見た目から考えてください。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）いちばん違ったのは「暗い点」（周りの平均との差の最小値）でした。不良品には穴や割れがあり、その部分だけ周りより暗くなるためです。
# 明るさの平均は照明やロットでも変わるので、良品と不良品の分布が重なっていました。
# 自作のモデルは見逃し率が 0.2 ほどで、kenshu のベースラインは 0.05 でした。kenshu は勾配の向きや細かい模様も使うので、細い割れにも反応できたと考えます。
# 自社の割れは細長い形なので、暗い点の数だけでなく「暗い画素が線状につながった長さ」を特徴量に足したいです。
