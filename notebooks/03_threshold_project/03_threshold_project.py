# %% [markdown]
# # 03 自社の課題：ラインのしきい値を決める
#
# {{ company }} の課題：**{{ problem }}**
#
# 前回までに、モデルが「不良らしさ」を数字（スコア）で出せることを学びました。
# 実際のラインでは、スコアが **しきい値** 以上の部品を「不良の疑いあり」として人の検査に回します。
# しきい値を下げれば見逃しは減りますが、人が見直す部品（過検出）が増えます。
# どこで線を引くかは、モデルではなく **ラインの事情** で決まります。
#
# この回は小さなプロジェクトです（データ：{{ data_name }}）。
# 1. 簡単なモデルで不良らしさのスコアを作る
# 2. しきい値ごとの見逃し率と過検出率を計算してグラフにする
# 3. 見逃し 1 個の損失と過検出 1 個の手間から、費用が最小になるしきい値を選ぶ
# 4. 1000 個あたり何個を人の検査に回すことになるかを計算する
# 5. 選んだしきい値を自社のラインに向けて説明する（講師が採点）
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `DATA_KIND` はデータの種類で、画像のコースでは `"images"` と `DATA_DIR`、CSV のコースでは `"csv"` と `DATA_CSV` が設定されます。
# `MAX_IMAGES_PER_CLASS` と `N_ROWS` は実行時間を抑えるための上限です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_KIND = "images"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
DATA_CSV = ""
LABEL_COLUMN = "品質"
GOOD_LABEL = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150
N_ROWS = 10000

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from scipy import ndimage

from kenshu.plotting import use_japanese_font

use_japanese_font()

if DATA_KIND not in ("images", "csv"):
    raise ValueError(f"DATA_KIND は \"images\" か \"csv\" です（今は {DATA_KIND!r}）。講師に連絡してください。")


def surface_features(image):
    """Return statistics of the bright part surface in one image: dark spots (holes, stains) and fine texture (as in module 02)."""
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
    """Return the intensity histogram, gradient statistics and surface statistics per image (as in module 02)."""
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


if DATA_KIND == "images":
    from kenshu.datasets import load_image_folder

    data = load_image_folder(
        DATA_DIR, good_class=GOOD_CLASS, image_size=64, max_per_class=MAX_IMAGES_PER_CLASS, random_state=RANDOM_STATE
    )
    X = image_features(data.images)
    y = data.target
else:
    from kenshu.datasets import load_sensor_csv

    df = load_sensor_csv(DATA_CSV)
    df = df.dropna(subset=list(df.select_dtypes("number").columns) + [LABEL_COLUMN])
    if len(df) > N_ROWS:
        df = df.sample(n=N_ROWS, random_state=RANDOM_STATE).sort_index()
    # The label is compared as text so that 0/1 columns and 良品/不良品 columns work alike.
    y = (df[LABEL_COLUMN].astype(str) != str(GOOD_LABEL)).astype(int).to_numpy()
    feature_columns = [column for column in df.select_dtypes("number").columns if column != LABEL_COLUMN]
    X = df[feature_columns].to_numpy(dtype=float)

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, stratify=y, random_state=RANDOM_STATE)
print(f"{COMPANY}（{DATA_KIND}）：学習用 {len(y_train)} 件、テスト用 {len(y_test)} 件（うち不良 {int(np.sum(y_test))} 件）、特徴量 {X.shape[1]} 個")

# %% [markdown]
# ## 問1 不良らしさのスコアを作る
#
# 02 で使ったものと同じ、標準化＋ロジスティック回帰のパイプライン `model` を学習用データで学習してください。
# 不良が少ないデータでも不良を軽視しないよう、`LogisticRegression(max_iter=1000, class_weight="balanced")` を使います。
#
# 次に、テスト用データの **不良品である確率** を `scores` に入れてください。
# `predict_proba` は列ごとにクラスの確率を返します。ラベル 1（不良品）は 2 列目（`[:, 1]`）です。

# %% kenshu="answer" grade_id="scores"
### BEGIN SOLUTION
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
model.fit(X_train, y_train)
scores = model.predict_proba(X_test)[:, 1]
### END SOLUTION
print(f"ROC AUC（1 に近いほど良品と不良品のスコアがよく分かれている）: {roc_auc_score(y_test, scores):.3f}")

# %% kenshu="mistake" answer="scores"
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced"))
model.fit(X_train, y_train)
scores = model.predict_proba(X_test)[:, 0]

# %% kenshu="test" grade_id="test_scores" points=2
assert isinstance(model, Pipeline), "model は make_pipeline で作ったパイプラインにしてください。"
assert np.shape(scores) == (len(y_test),), "scores はテスト用データ 1 件につき 1 つの数にしてください。"
assert np.all((0 <= scores) & (scores <= 1)), "scores は確率（0〜1）にしてください。predict_proba を使います。"
### BEGIN HIDDEN TESTS
assert np.allclose(scores, model.predict_proba(X_test)[:, 1]), "scores は不良品（ラベル 1）の確率、predict_proba(X_test)[:, 1] にしてください。"
assert roc_auc_score(y_test, scores) > 0.5, "不良品のスコアが良品より低くなっています。predict_proba の列（[:, 1]）を確認してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 しきい値と見逃し率・過検出率
#
# スコアが `threshold` **以上** なら不良の疑いありと判定します（0 が良品、1 が不良品）。
#
# - **見逃し率** ＝ しきい値未満だった不良品の数 ÷ 不良品の数
# - **過検出率** ＝ しきい値以上だった良品の数 ÷ 良品の数
#
# `rates_at_threshold(y_true, scores, threshold)` が `(見逃し率, 過検出率)` を返すように完成させ、
# `thresholds` の各値での見逃し率を `miss_rates`、過検出率を `false_alarm_rates`（どちらも NumPy 配列）に入れてください。

# %% kenshu="answer" grade_id="rates"
thresholds = np.linspace(0, 1, 101)


def rates_at_threshold(y_true, scores, threshold):
    """Return (miss rate, false-alarm rate) when a score at or above *threshold* means defect."""
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    ### BEGIN SOLUTION
    flagged = scores >= threshold
    miss = np.mean(~flagged[y_true == 1])
    false_alarm = np.mean(flagged[y_true == 0])
    return float(miss), float(false_alarm)
    ### END SOLUTION


### BEGIN SOLUTION
miss_rates = np.array([rates_at_threshold(y_test, scores, t)[0] for t in thresholds])
false_alarm_rates = np.array([rates_at_threshold(y_test, scores, t)[1] for t in thresholds])
### END SOLUTION

plt.figure(figsize=(7, 4))
plt.plot(thresholds, miss_rates, label="見逃し率")
plt.plot(thresholds, false_alarm_rates, label="過検出率")
plt.xlabel("しきい値（このスコア以上を不良の疑いとする）")
plt.ylabel("割合")
plt.title(f"{COMPANY}：しきい値と見逃し率・過検出率")
plt.legend()
plt.grid(alpha=0.3)
plt.show()

# %% kenshu="mistake" answer="rates"
thresholds = np.linspace(0, 1, 101)


def rates_at_threshold(y_true, scores, threshold):
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    flagged = scores > threshold
    return float(np.mean(~flagged[y_true == 1])), float(np.mean(flagged[y_true == 0]))


miss_rates = np.array([rates_at_threshold(y_test, scores, t)[0] for t in thresholds])
false_alarm_rates = np.array([rates_at_threshold(y_test, scores, t)[1] for t in thresholds])

# %% kenshu="test" grade_id="test_rates" points=3
_y = [0, 0, 1, 1]
_s = [0.1, 0.6, 0.4, 0.9]
assert np.allclose(rates_at_threshold(_y, _s, 0.5), (0.5, 0.5)), "y=[0,0,1,1]、スコア=[0.1,0.6,0.4,0.9]、しきい値 0.5 では見逃し率 0.5、過検出率 0.5 です。"
assert np.shape(miss_rates) == np.shape(thresholds), "miss_rates は thresholds と同じ長さにしてください。"
assert np.shape(false_alarm_rates) == np.shape(thresholds), "false_alarm_rates は thresholds と同じ長さにしてください。"
### BEGIN HIDDEN TESTS
assert np.allclose(rates_at_threshold(_y, _s, 0.4), (0.0, 0.5)), "スコアがしきい値と同じ部品は「不良の疑いあり」です（>= で判定）。"
assert np.allclose(rates_at_threshold(_y, _s, 0.0), (0.0, 1.0)), "しきい値 0 ではすべてを不良と判定するので、見逃し率 0、過検出率 1 です。"
assert np.allclose(rates_at_threshold(_y, _s, 1.01), (1.0, 0.0)), "しきい値が最大のスコアより大きいと、見逃し率 1、過検出率 0 です。"
assert np.allclose(rates_at_threshold(np.array(_y), np.array(_s), 0.65), (0.5, 0.0)), "NumPy 配列でも同じように計算できるようにしてください。"
assert np.all(np.diff(miss_rates) >= 0), "しきい値を上げると見逃し率は増える（減らない）はずです。"
assert np.all(np.diff(false_alarm_rates) <= 0), "しきい値を上げると過検出率は減る（増えない）はずです。"
_k = 37
assert np.allclose((miss_rates[_k], false_alarm_rates[_k]), rates_at_threshold(y_test, scores, thresholds[_k])), "miss_rates と false_alarm_rates は、thresholds の順にテスト用データで計算してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 費用からしきい値を選ぶ
#
# 次のセルの 3 つの値を、**自社のライン** に合わせて書き換えてください（ここは採点されません）。
#
# - `LINE_DEFECT_RATE`：ラインで実際に出る不良品の割合（テスト用データの割合とは違います。ふだんの工程の数字を使います）
# - `COST_MISS`：不良品 1 個を見逃して出荷したときの損失（円）。返品・選別・信用を含めて考えます。
# - `COST_FALSE_ALARM`：良品 1 個を人の検査に回す手間（円）。検査員の時間や止めたライン分です。
#
# 部品 1 個あたりの期待費用は
#
# 期待費用 ＝ 不良率 × 見逃し率 × 見逃し 1 個の損失 ＋ （1 − 不良率） × 過検出率 × 過検出 1 個の手間
#
# です。`expected_cost` を完成させ（配列を渡したら配列で返るように）、
# 各しきい値の期待費用を `costs` に、費用がいちばん小さいしきい値を `chosen_threshold` に入れてください。
# ヒント：`np.argmin`。

# %%
LINE_DEFECT_RATE = 0.02
COST_MISS = 50000
COST_FALSE_ALARM = 200

# %% kenshu="answer" grade_id="cost"
def expected_cost(miss_rate, false_alarm_rate, *, defect_rate, cost_miss, cost_false_alarm):
    """Return the expected cost per part, in yen, of misses and false alarms on the line."""
    miss_rate = np.asarray(miss_rate, dtype=float)
    false_alarm_rate = np.asarray(false_alarm_rate, dtype=float)
    ### BEGIN SOLUTION
    return defect_rate * miss_rate * cost_miss + (1 - defect_rate) * false_alarm_rate * cost_false_alarm
    ### END SOLUTION


### BEGIN SOLUTION
costs = expected_cost(
    miss_rates,
    false_alarm_rates,
    defect_rate=LINE_DEFECT_RATE,
    cost_miss=COST_MISS,
    cost_false_alarm=COST_FALSE_ALARM,
)
chosen_threshold = float(thresholds[np.argmin(costs)])
### END SOLUTION

plt.figure(figsize=(7, 4))
plt.plot(thresholds, costs)
plt.axvline(chosen_threshold, color="red", linestyle="--", label=f"選んだしきい値 {chosen_threshold:.2f}")
plt.xlabel("しきい値")
plt.ylabel("部品 1 個あたりの期待費用（円）")
plt.title(f"{COMPANY}：しきい値と期待費用")
plt.legend()
plt.grid(alpha=0.3)
plt.show()

# %% kenshu="mistake" answer="cost"
def expected_cost(miss_rate, false_alarm_rate, *, defect_rate, cost_miss, cost_false_alarm):
    return np.asarray(miss_rate) * cost_miss + np.asarray(false_alarm_rate) * cost_false_alarm


costs = expected_cost(miss_rates, false_alarm_rates, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_false_alarm=COST_FALSE_ALARM)
chosen_threshold = float(thresholds[np.argmin(costs)])

# %% kenshu="test" grade_id="test_cost" points=3
assert abs(float(expected_cost(0.1, 0.2, defect_rate=0.5, cost_miss=100, cost_false_alarm=10)) - 6.0) < 1e-9, "不良率 0.5、見逃し率 0.1、過検出率 0.2、損失 100 円、手間 10 円なら期待費用は 0.5×0.1×100 ＋ 0.5×0.2×10 ＝ 6 円です。"
assert np.shape(costs) == np.shape(thresholds), "costs は thresholds と同じ長さの配列にしてください。"
assert chosen_threshold in thresholds, "chosen_threshold は thresholds の中から選んでください。"
### BEGIN HIDDEN TESTS
assert abs(float(expected_cost(0.0, 0.0, defect_rate=0.3, cost_miss=1000, cost_false_alarm=10))) < 1e-9, "見逃しも過検出もなければ期待費用は 0 円です。"
assert abs(float(expected_cost(1.0, 0.0, defect_rate=0.01, cost_miss=1000, cost_false_alarm=10)) - 10.0) < 1e-9, "期待費用の見逃しの項は「不良率 × 見逃し率 × 損失」です。"
assert abs(float(expected_cost(0.0, 1.0, defect_rate=0.01, cost_miss=1000, cost_false_alarm=10)) - 9.9) < 1e-9, "期待費用の過検出の項は「(1 − 不良率) × 過検出率 × 手間」です。"
assert np.allclose(expected_cost(np.array([0.0, 1.0]), np.array([1.0, 0.0]), defect_rate=0.5, cost_miss=4, cost_false_alarm=2), [1.0, 2.0]), "配列を渡したら、しきい値ごとの費用を配列で返してください。"
_reference = LINE_DEFECT_RATE * miss_rates * COST_MISS + (1 - LINE_DEFECT_RATE) * false_alarm_rates * COST_FALSE_ALARM
assert np.allclose(costs, _reference), "costs は LINE_DEFECT_RATE、COST_MISS、COST_FALSE_ALARM を使って各しきい値で計算してください。"
assert np.isclose(_reference[np.argmin(np.abs(thresholds - chosen_threshold))], _reference.min()), "chosen_threshold で期待費用が最小になっていません。np.argmin(costs) を使ってください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問4 1000 個あたり何個を人が見るか
#
# ラインの責任者が知りたいのは「1000 個流れたら、何個が人の検査に回り、何個の不良が見逃されるか」です。
# 選んだしきい値での見逃し率と過検出率（テスト用データで測ったもの）と、ラインの不良率 `LINE_DEFECT_RATE` から計算します。
#
# - 人の検査に回る数（1000 個あたり）＝ 1000 ×（不良率 ×（1 − 見逃し率）＋（1 − 不良率）× 過検出率）
# - 見逃して流れる不良の数（1000 個あたり）＝ 1000 × 不良率 × 見逃し率
#
# この 2 つを返す関数 `per_thousand(miss_rate, false_alarm_rate, *, defect_rate)` を完成させ、
# 選んだしきい値での値を `set_aside_per_thousand` と `missed_per_thousand` に入れてください。

# %% kenshu="answer" grade_id="per_thousand"
def per_thousand(miss_rate, false_alarm_rate, *, defect_rate):
    """Return (parts set aside for a human, defects missed) per thousand parts on the line."""
    ### BEGIN SOLUTION
    set_aside = 1000 * (defect_rate * (1 - miss_rate) + (1 - defect_rate) * false_alarm_rate)
    missed = 1000 * defect_rate * miss_rate
    return set_aside, missed
    ### END SOLUTION


chosen_miss, chosen_false_alarm = rates_at_threshold(y_test, scores, chosen_threshold)
set_aside_per_thousand, missed_per_thousand = per_thousand(chosen_miss, chosen_false_alarm, defect_rate=LINE_DEFECT_RATE)
print(f"しきい値 {chosen_threshold:.2f}：1000 個あたり {set_aside_per_thousand:.1f} 個を人が検査し、{missed_per_thousand:.2f} 個の不良を見逃す見込みです。")

# %% kenshu="mistake" answer="per_thousand"
def per_thousand(miss_rate, false_alarm_rate, *, defect_rate):
    return 1000 * false_alarm_rate, 1000 * miss_rate


chosen_miss, chosen_false_alarm = rates_at_threshold(y_test, scores, chosen_threshold)
set_aside_per_thousand, missed_per_thousand = per_thousand(chosen_miss, chosen_false_alarm, defect_rate=LINE_DEFECT_RATE)

# %% kenshu="test" grade_id="test_per_thousand" points=2
assert np.allclose(per_thousand(0.0, 0.0, defect_rate=0.02), (20.0, 0.0)), "不良率 2% で見逃しも過検出もなければ、1000 個あたり 20 個（不良品だけ）を人が検査し、見逃しは 0 個です。"
assert 0 <= set_aside_per_thousand <= 1000, "人の検査に回る数は 1000 個あたり 0〜1000 個のはずです。"
assert 0 <= missed_per_thousand <= 1000 * LINE_DEFECT_RATE + 1e-9, "見逃す不良の数は、1000 個あたりの不良の数（1000 × 不良率）を超えません。"
### BEGIN HIDDEN TESTS
assert np.allclose(per_thousand(0.5, 0.1, defect_rate=0.1), (140.0, 50.0)), "不良率 10%、見逃し率 0.5、過検出率 0.1 なら、人が見るのは 1000 ×（0.1 × 0.5 ＋ 0.9 × 0.1）＝ 140 個、見逃しは 1000 × 0.1 × 0.5 ＝ 50 個です。"
assert np.allclose(per_thousand(1.0, 1.0, defect_rate=0.3), (700.0, 300.0)), "すべて見逃し、良品をすべて人に回すなら、人が見るのは良品の 700 個、見逃しは不良品の 300 個です。"
_miss = np.mean(scores[y_test == 1] < chosen_threshold)
_false_alarm = np.mean(scores[y_test == 0] >= chosen_threshold)
_expected_aside = 1000 * (LINE_DEFECT_RATE * (1 - _miss) + (1 - LINE_DEFECT_RATE) * _false_alarm)
assert abs(set_aside_per_thousand - _expected_aside) < 1e-6, "set_aside_per_thousand は、選んだしきい値での見逃し率と過検出率から計算してください。"
assert abs(missed_per_thousand - 1000 * LINE_DEFECT_RATE * _miss) < 1e-6, "missed_per_thousand は、選んだしきい値での見逃し率から計算してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## しきい値の説明（講師が採点します）
#
# {{ company }} のラインの責任者に向けて、選んだしきい値を説明してください（10 行程度）。
#
# 1. 見逃し 1 個の損失と過検出 1 個の手間を、それぞれいくらと見積もりましたか。その根拠は何ですか。
# 2. 選んだしきい値で、1000 個あたり何個を人が検査し、何個の不良を見逃す見込みですか。その数で現場は回りますか。
# 3. テスト用データの数が少ないことは、この見込みをどのくらい不確かにしますか。導入前に何を確かめますか。
# 4. 「{{ problem }}」という課題に対して、このモデルをまずどんな形で使い始めますか（全数判定、人の検査の補助など）。

# %% [markdown] kenshu="written" grade_id="reflection" points=5
# （解答例）見逃し 1 個は返品と全数選別で約 5 万円、過検出 1 個は検査員の目視 1 分で約 200 円と見積もりました。
# 費用が最小のしきい値では 1000 個あたり数十個を人が見て、見逃しはほぼ 0 個の見込みです。
# 検査員 1 人で 1 時間に 60 個見られるので、この量なら今の体制で回ります。
# ただしテスト用の不良品は数十個しかないので、見逃し率 0 でも本当の見逃し率は数 % ありえます。
# 導入前に 1 か月ほど、今の目視検査と並行してモデルを動かし、見逃しがないことを確かめます。
# 最初は全数判定ではなく、目視検査の前に「疑わしい部品」を知らせる補助として使い始めます。
