# %% [markdown]
# # 02 センサ・工程データの異常検知
#
# {{ company }} の課題：**{{ problem }}**
#
# この回では、自社の CSV（データ：{{ data_name }}）を使って **異常検知** を学びます。
# 不良はめったに起きないので、不良の例をたくさん集めるのは大変です。
# そこで「良品のときのデータだけ」でふつうの状態を覚えさせ、そこから外れた行を異常とみなします。
# 使うのは scikit-learn の `IsolationForest` です。
#
# 進め方：
# 1. CSV を読み込む（用意済み）
# 2. 特徴量にする列を選ぶ
# 3. 良品の行だけで異常検知モデルを学習する
# 4. 異常スコアを計算する
# 5. 品質ラベル（列「{{ label_column }}」、良品は「{{ good_label }}」）と比べて、混同行列と見逃し率で評価する
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `N_ROWS` は読み込む行数の上限で、実行時間を抑えるためのものです。

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
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.ensemble import IsolationForest
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay, accuracy_score

from kenshu.datasets import load_sensor_csv
from kenshu.plotting import use_japanese_font

use_japanese_font()

df = load_sensor_csv(DATA_CSV)

# Rows with a missing measurement are dropped, and the count is printed so the trainee sees how much data was left out.
rows_before = len(df)
df = df.dropna(subset=list(df.select_dtypes("number").columns) + [LABEL_COLUMN])
if len(df) < rows_before:
    print(f"欠損値のある {rows_before - len(df)} 行を除きました。")
if len(df) > N_ROWS:
    df = df.sample(n=N_ROWS, random_state=RANDOM_STATE).sort_index()

# The label is compared as text so that 0/1 columns and 良品/不良品 columns work alike.
y = (df[LABEL_COLUMN].astype(str) != str(GOOD_LABEL)).astype(int).to_numpy()
print(f"{COMPANY}：{len(df)} 行、{df.shape[1]} 列（良品 {np.sum(y == 0)} 行、不良 {np.sum(y == 1)} 行）")
df.head()

# %% [markdown]
# ## 問1 特徴量にする列を選ぶ
#
# 異常検知に使えるのは数値の列です。品質ラベルの列「{{ label_column }}」は答えそのものなので、**必ず外します**。
# ほかにも、通し番号や、不良の種類を記録した列のように「結果を書いた列」が入っていると、
# 本番（結果がまだ分からない時点）では使えないので外します。
#
# 数値の列のうち、ラベルの列を除いた列名のリストを `feature_columns` に入れ、
# その値を `X`（NumPy 配列、行数は `df` と同じ）にしてください。
# ヒント：`df.select_dtypes("number").columns`。

# %% kenshu="answer" grade_id="features"
### BEGIN SOLUTION
feature_columns = [column for column in df.select_dtypes("number").columns if column != LABEL_COLUMN]
X = df[feature_columns].to_numpy(dtype=float)
### END SOLUTION
print("使う列:", feature_columns)
print("X の形:", X.shape)

# %% kenshu="mistake" answer="features"
feature_columns = [column for column in df.columns if column != LABEL_COLUMN]
X = df.select_dtypes("number").to_numpy(dtype=float)

# %% kenshu="test" grade_id="test_features" points=2
assert LABEL_COLUMN not in feature_columns, f"ラベルの列「{LABEL_COLUMN}」が特徴量に入っています。答えを見ながら予測することになるので外してください。"
assert len(feature_columns) >= 2, "特徴量の列が少なすぎます。数値の列を使ってください。"
assert np.shape(X) == (len(df), len(feature_columns)), "X の形が（行数, 列の数）になっていません。"
### BEGIN HIDDEN TESTS
assert all(pd.api.types.is_numeric_dtype(df[column]) for column in feature_columns), "数値でない列が入っています。select_dtypes で数値の列だけを選んでください。"
assert np.all(np.isfinite(np.asarray(X, dtype=float))), "X に NaN か無限大が入っています。"
assert np.allclose(np.asarray(X, dtype=float), df[feature_columns].to_numpy(dtype=float)), "X は df[feature_columns] の値にしてください（列の順番もそろえる）。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 良品の行だけで学習する
#
# まず全体を学習用とテスト用に層化分割します（用意済み）。
# そのあと、**学習用のうち良品の行だけ** を `X_train_good` に取り出し、
# `StandardScaler` ＋ `IsolationForest(random_state=RANDOM_STATE)` のパイプライン `detector` を学習してください。
#
# 標準化するのは、温度（数百）と振動（小数）のように桁の違う列を同じ重みで扱うためです。

# %% kenshu="readonly" grade_id="split"
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=RANDOM_STATE
)
print("学習用:", X_train.shape, " テスト用:", X_test.shape, " テスト用の不良:", int(np.sum(y_test)))

# %% kenshu="answer" grade_id="train_good_only"
### BEGIN SOLUTION
X_train_good = X_train[y_train == 0]
detector = make_pipeline(StandardScaler(), IsolationForest(n_estimators=200, random_state=RANDOM_STATE))
detector.fit(X_train_good)
### END SOLUTION
print("学習に使った良品の行:", len(X_train_good))

# %% kenshu="mistake" answer="train_good_only"
X_train_good = X_train
detector = make_pipeline(StandardScaler(), IsolationForest(random_state=RANDOM_STATE))
detector.fit(X_train_good)

# %% kenshu="test" grade_id="test_train_good_only" points=2
from sklearn.utils.validation import check_is_fitted

assert len(X_train_good) == np.sum(y_train == 0), "X_train_good は学習用のうち良品の行（y_train == 0）だけにしてください。"
assert isinstance(detector, Pipeline), "detector は make_pipeline で作ったパイプラインにしてください。"
assert isinstance(detector[-1], IsolationForest), "パイプラインの最後の段を IsolationForest にしてください。"
check_is_fitted(detector)
### BEGIN HIDDEN TESTS
assert isinstance(detector[0], StandardScaler), "パイプラインの最初の段を StandardScaler にしてください。"
assert np.allclose(detector[0].mean_, np.asarray(X_train_good).mean(axis=0)), "detector が良品の行（X_train_good）以外のデータで学習されています。"
assert np.allclose(X_train_good, X_train[y_train == 0]), "X_train_good の中身が学習用の良品の行と違います。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 異常スコア
#
# `detector.score_samples(X)` は「ふつうらしさ」で、**小さいほど異常** です。
# 見やすくするため、符号を反転して **大きいほど異常** なスコアにします。
#
# テスト用データの異常スコアを `scores` に入れ、`detector.predict` の結果（-1 が異常、1 が正常）から
# 不良品と判定したものを 1、良品と判定したものを 0 とした `y_pred` を作ってください。

# %% kenshu="answer" grade_id="scores"
### BEGIN SOLUTION
scores = -detector.score_samples(X_test)
y_pred = (detector.predict(X_test) == -1).astype(int)
### END SOLUTION

plt.figure(figsize=(7, 4))
plt.hist(scores[y_test == 0], bins=30, alpha=0.6, label="良品")
plt.hist(scores[y_test == 1], bins=30, alpha=0.6, label="不良")
plt.xlabel("異常スコア（大きいほど異常）")
plt.ylabel("行数")
plt.title(f"{COMPANY}：テスト用データの異常スコア")
plt.legend()
plt.show()

# %% kenshu="mistake" answer="scores"
scores = detector.score_samples(X_test)
y_pred = detector.predict(X_test)

# %% kenshu="test" grade_id="test_scores" points=3
assert np.shape(scores) == (len(X_test),), "scores はテスト用データ 1 行につき 1 つの数にしてください。"
assert np.shape(y_pred) == (len(X_test),), "y_pred はテスト用データ 1 行につき 1 つの判定にしてください。"
assert set(np.unique(y_pred)) <= {0, 1}, "y_pred は 0（良品）か 1（不良）にしてください。predict の -1 をそのまま使っていませんか。"
### BEGIN HIDDEN TESTS
_outlier = X_train_good.mean(axis=0) + 10 * X_train_good.std(axis=0)
_outlier_score = -detector.score_samples(_outlier.reshape(1, -1))[0]
assert _outlier_score > np.median(scores), "ふつうから大きく外れた行のスコアが小さくなっています。符号を反転して「大きいほど異常」にしてください。"
assert np.allclose(scores, -detector.score_samples(X_test)), "scores は -detector.score_samples(X_test) にしてください。"
assert np.array_equal(y_pred, (detector.predict(X_test) == -1).astype(int)), "y_pred は predict が -1（異常）のとき 1、1（正常）のとき 0 にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 混同行列と見逃し率
#
# 異常検知の結果を、品質ラベルと突き合わせます。ラインで大事なのは正解率ではなく：
#
# - **見逃し率** ＝ 正常と判定された不良の数 ÷ 不良の数（小さいほどよい。不良がそのまま流れる割合）
# - **過検出率** ＝ 異常と判定された良品の数 ÷ 良品の数（小さいほどよい。止めたり調べたりする手間）
#
# 不良が全体の数 % しかないと、「全部良品」と答えるだけで正解率は 9 割を超えます。正解率だけを見てはいけません。
#
# `miss_rate(y_true, y_pred)` と `false_alarm_rate(y_true, y_pred)` を完成させ（0 が良品、1 が不良）、
# `cm` にテスト用データの混同行列（行が正解、列が予測）を入れてください。

# %% kenshu="answer" grade_id="miss_rate"
def miss_rate(y_true, y_pred):
    """Return the share of true defects (1) that were predicted good (0)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    ### BEGIN SOLUTION
    return float(np.mean(y_pred[y_true == 1] == 0))
    ### END SOLUTION


def false_alarm_rate(y_true, y_pred):
    """Return the share of good parts (0) that were predicted defect (1)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    ### BEGIN SOLUTION
    return float(np.mean(y_pred[y_true == 0] == 1))
    ### END SOLUTION


### BEGIN SOLUTION
cm = confusion_matrix(y_test, y_pred, labels=[0, 1])
### END SOLUTION

display = ConfusionMatrixDisplay(cm, display_labels=["良品", "不良"])
display.plot(cmap="Blues")
display.ax_.set_xlabel("判定")
display.ax_.set_ylabel("正解")
display.ax_.set_title(f"{COMPANY}：異常検知の混同行列")
plt.show()

print(f"正解率　: {accuracy_score(y_test, y_pred):.3f}")
print(f"見逃し率: {miss_rate(y_test, y_pred):.3f}（不良 {np.sum(y_test == 1)} 行のうち {cm[1, 0]} 行を見逃し）")
print(f"過検出率: {false_alarm_rate(y_test, y_pred):.3f}（良品 {np.sum(y_test == 0)} 行のうち {cm[0, 1]} 行を異常と判定）")

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
assert abs(miss_rate([1, 1, 1, 1, 0], [0, 1, 1, 1, 0]) - 0.25) < 1e-9, "不良 4 個のうち 1 個を見逃すと見逃し率は 0.25 です。分母は「不良の数」です。"
assert abs(false_alarm_rate([0, 0, 0, 0, 1], [1, 0, 0, 0, 1]) - 0.25) < 1e-9, "良品 4 個のうち 1 個を異常と判定すると過検出率は 0.25 です。分母は「良品の数」です。"
assert np.shape(cm) == (2, 2), "cm は 2×2 の混同行列にしてください。"
### BEGIN HIDDEN TESTS
assert miss_rate([1, 1, 0, 0], [1, 1, 1, 1]) == 0.0, "不良をすべて検出したときの見逃し率は 0 です。"
assert miss_rate([1, 1, 0, 0], [0, 0, 0, 0]) == 1.0, "不良をすべて良品と判定したときの見逃し率は 1 です。"
assert false_alarm_rate([1, 1, 0, 0], [0, 0, 0, 0]) == 0.0, "良品を 1 個も異常と判定しないときの過検出率は 0 です。"
assert abs(miss_rate(np.array([1, 0, 1, 0, 1]), np.array([0, 0, 1, 1, 1])) - 1 / 3) < 1e-9, "NumPy 配列でも同じように計算できるようにしてください。"
assert np.array_equal(cm, confusion_matrix(y_test, y_pred, labels=[0, 1])), "cm は confusion_matrix(y_test, y_pred) にしてください（行が正解、列が予測）。"
assert abs(miss_rate(y_test, y_pred) - cm[1, 0] / cm[1].sum()) < 1e-9, "見逃し率が混同行列の「正解＝不良、判定＝良品」のマスと合いません。"
### END HIDDEN TESTS

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# {{ company }} の現場を思い浮かべて、次の問いに答えてください（5〜10 行）。
#
# 1. 見逃し率と過検出率はいくつでしたか。この数字のままラインで使えますか。
# 2. 不良の例が少なくても、良品のデータだけで学習できることは、自社にとってどんな利点がありますか。
# 3. 見逃しを減らすには、どの列を足したり外したりしたいですか。現場で新しく測るとよい量はありますか。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）良品だけで学習できるので、不良がめったに出ない工程でもすぐに始められます。
# ただし今の判定では見逃しが残るので、このままでは出荷判定には使えません。
# 異常スコアのしきい値を下げて見逃しを減らし、増える過検出は人が確認する運用を考えます（次回）。
# 不良の原因に近い量（工具の摩耗、主軸の振動など）を測って列に加えると、見逃しが減ると考えます。
