# %% [markdown]
# # 07 費用からしきい値を決める：自社のラインの数字で
#
# {{ company }} の課題：**{{ problem }}**
#
# 03 では、見逃し率と過検出率の曲線から費用が最小のしきい値を選びました。この回はその続きで、
# `kenshu inspect` がラインに出すモデルのしきい値を、**自社の費用と人手** から決めて説明できるようにします。
# データ：{{ data_name }}（良品：{{ good_class }}、不良品：{{ defect_classes }}）。
#
# 03 と違うところ：
# - 不良の疑いありと判定された部品は、不良品でも良品でも **すべて人が見直します**。見直しの手間は過検出だけにかかるのではありません。
# - しきい値の候補を 0〜1 の目盛りではなく、**検証用のスコアそのもの** から作ります（どんなモデルのスコアにも使えます）。
# - `kenshu` の `choose_threshold` に同じ費用を渡す方法と、ふだん使う既定の決め方との違いを確かめます。
# - 検査員が 1000 個あたり見直せる数に **上限** があるときのしきい値を決め、テスト用データで確かめます。
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150
IMAGE_SIZE = 64

# %% [markdown]
# 次のセルで、`kenshu inspect` と同じ分け方（学習用 60%、検証用 20%、テスト用 20%）で画像を分け、
# 特徴量ベースライン（`fit_feature_baseline`、04 で使ったもの）を学習して、検証用とテスト用の **スコア**（大きいほど不良品らしい）を作ります。
# しきい値は検証用のスコアだけで決め、テスト用は最後に確かめるためだけに使います。

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.inspection import choose_threshold, evaluate_scores, fit_feature_baseline, score_images
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
y = data.target
train_index, validation_index, test_index = train_validation_test_split(y, random_state=RANDOM_STATE)
y_validation, y_test = y[validation_index], y[test_index]

if np.bincount(y[train_index], minlength=2).min() < 2:
    raise ValueError(
        f"学習用の画像が少なすぎます（良品 {np.sum(y[train_index] == 0)} 枚、不良品 {np.sum(y[train_index] == 1)} 枚）。"
        "良品・不良品とも 2 枚以上必要です。不良品の写真が少ないときは 06 の良品だけの方法を使います。講師に連絡してください。"
    )

program = fit_feature_baseline(data.images[train_index], y[train_index], random_state=RANDOM_STATE)
validation_scores = score_images(program.scorer, data.images[validation_index])
test_scores = score_images(program.scorer, data.images[test_index])
print(f"{COMPANY}：検証用 {len(y_validation)} 枚（良品 {np.sum(y_validation == 0)}、不良品 {np.sum(y_validation == 1)}）、テスト用 {len(y_test)} 枚（良品 {np.sum(y_test == 0)}、不良品 {np.sum(y_test == 1)}）")
print(f"検証用の ROC AUC：{evaluate_scores(validation_scores, y_validation, 0.5).roc_auc:.3f}")

# %% [markdown]
# ## 自社のラインの数字
#
# 次のセルの 4 つの値を **自社のライン** に合わせて書き換えてください（ここは採点されません。テストはどの値でも通ります）。
# 振り返りで、この値の根拠を説明してもらいます。
#
# - `LINE_DEFECT_RATE`：ふだんの工程で出る不良品の割合。検証用データの割合（写真を集めた結果の割合）とは違います。
# - `COST_MISS`：不良品 1 個がお客様に流出したときの損失（円）。返品、選別、信用、止まった組立ラインを含めて考えます。
# - `COST_RECHECK`：人が 1 個見直す手間（円）。検査員の時間、置き場、記録の手間です。`COST_MISS` 以下にしてください。
# - `RECHECK_CAPACITY_PER_THOUSAND`：1000 個流れる間に、検査員が見直せる部品の数の上限。

# %%
LINE_DEFECT_RATE = 0.02
COST_MISS = 50000
COST_RECHECK = 300
RECHECK_CAPACITY_PER_THOUSAND = 60

# %% [markdown]
# ## 問1 1000 個あたりの費用
#
# しきい値を決めると、見逃し率 $m$ と過検出率 $f$ が決まります。ラインの不良率を $p$ とすると、1000 個流れる間に
#
# - 不良品 $1000p$ 個のうち、$1000pm$ 個が流出し、$1000p(1-m)$ 個は不良の疑いありとして人が見直します。
# - 良品 $1000(1-p)$ 個のうち、$1000(1-p)f$ 個が過検出で人の見直しに回ります。
#
# なので、1000 個あたりの費用は
#
# 費用 ＝ 1000 ×（ $p \cdot m$ × 流出 1 個の損失 ＋（ $p(1-m) + (1-p)f$ ）× 見直し 1 個の手間 ）
#
# です。`cost_per_thousand` を完成させてください。`miss_rate` と `false_alarm_rate` に配列を渡したら、配列で返るようにします。

# %% kenshu="answer" grade_id="cost"
def cost_per_thousand(miss_rate, false_alarm_rate, *, defect_rate, cost_miss, cost_recheck):
    """Return the cost in yen per 1,000 parts of escaped defects and of re-checking every part judged 不良品."""
    miss_rate = np.asarray(miss_rate, dtype=float)
    false_alarm_rate = np.asarray(false_alarm_rate, dtype=float)
    ### BEGIN SOLUTION
    escaped = defect_rate * miss_rate
    rechecked = defect_rate * (1 - miss_rate) + (1 - defect_rate) * false_alarm_rate
    return 1000 * (escaped * cost_miss + rechecked * cost_recheck)
    ### END SOLUTION


print(f"見逃しも過検出もないときの 1000 個あたりの費用：{float(cost_per_thousand(0.0, 0.0, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK)):,.0f} 円（不良品を見直す手間だけ）")
print(f"検査をしないとき（全部良品と判定）の 1000 個あたりの費用：{float(cost_per_thousand(1.0, 0.0, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK)):,.0f} 円")

# %% kenshu="mistake" answer="cost"
def cost_per_thousand(miss_rate, false_alarm_rate, *, defect_rate, cost_miss, cost_recheck):
    miss_rate = np.asarray(miss_rate, dtype=float)
    false_alarm_rate = np.asarray(false_alarm_rate, dtype=float)
    return 1000 * (defect_rate * miss_rate * cost_miss + (1 - defect_rate) * false_alarm_rate * cost_recheck)

# %% kenshu="test" grade_id="test_cost" points=2
assert abs(float(cost_per_thousand(0.0, 0.0, defect_rate=0.02, cost_miss=50000, cost_recheck=300)) - 6000.0) < 1e-6, "見逃しも過検出もなくても、不良品 20 個（1000 × 0.02）を人が見直すので 20 × 300 ＝ 6000 円かかります。"
assert np.shape(cost_per_thousand(np.zeros(4), np.zeros(4), defect_rate=0.1, cost_miss=10, cost_recheck=1)) == (4,), "配列を渡したら、同じ長さの配列で返してください。"
### BEGIN HIDDEN TESTS
assert abs(float(cost_per_thousand(1.0, 0.0, defect_rate=0.1, cost_miss=100, cost_recheck=10)) - 10000.0) < 1e-6, "すべて見逃すと、不良品 100 個がすべて流出して 100 × 100 ＝ 10000 円、見直しは 0 個です。"
assert abs(float(cost_per_thousand(0.0, 1.0, defect_rate=0.1, cost_miss=100, cost_recheck=10)) - 10000.0) < 1e-6, "見逃しなし・過検出率 1 なら、1000 個すべてを見直して 1000 × 10 ＝ 10000 円です。"
assert abs(float(cost_per_thousand(0.5, 0.1, defect_rate=0.1, cost_miss=100, cost_recheck=10)) - (50 * 100 + (50 + 90) * 10)) < 1e-6, "不良率 0.1、見逃し率 0.5、過検出率 0.1 なら、流出 50 個 × 100 円 ＋ 見直し（50 ＋ 90）個 × 10 円です。"
assert np.allclose(cost_per_thousand(np.array([0.0, 1.0]), np.array([1.0, 0.0]), defect_rate=0.5, cost_miss=4, cost_recheck=2), [2000.0, 2000.0]), "配列を渡したら、要素ごとの費用を返してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 検証用のスコアで費用の曲線を描く
#
# スコアが `threshold` **以上** の部品を不良の疑いありと判定します。見逃し率と過検出率が変わるのは、しきい値が
# どれかの部品のスコアをまたぐときだけなので、候補は **検証用のスコアそのもの** で足ります（そのスコアの部品から上を不良と判定）。
# それに「どれも不良と判定しない」しきい値として `np.inf` を最後に足します。
#
# 1. `candidate_thresholds` ＝ 検証用のスコアを重複なく小さい順に並べ（`np.unique`）、最後に `np.inf` を足した配列
# 2. 各候補での検証用の見逃し率を `miss_rates`、過検出率を `false_alarm_rates`（どちらも NumPy 配列）に
# 3. 問1 の関数で 1000 個あたりの費用を `costs` に、費用がいちばん小さい候補を `best_threshold` に（`np.argmin`）入れてください。

# %% kenshu="answer" grade_id="curve"
### BEGIN SOLUTION
candidate_thresholds = np.append(np.unique(validation_scores), np.inf)
defect_scores = validation_scores[y_validation == 1]
good_scores = validation_scores[y_validation == 0]
miss_rates = np.array([np.mean(defect_scores < threshold) for threshold in candidate_thresholds])
false_alarm_rates = np.array([np.mean(good_scores >= threshold) for threshold in candidate_thresholds])
costs = cost_per_thousand(
    miss_rates, false_alarm_rates, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK
)
best_threshold = float(candidate_thresholds[np.argmin(costs)])
### END SOLUTION

finite = np.isfinite(candidate_thresholds)
plt.figure(figsize=(8, 4))
plt.step(candidate_thresholds[finite], costs[finite], where="post", label="1000 個あたりの費用")
plt.axhline(costs[-1], color="gray", linestyle=":", label="どれも不良と判定しない")
if np.isfinite(best_threshold):
    plt.axvline(best_threshold, color="red", linestyle="--", label=f"費用が最小 {best_threshold:.3g}")
plt.xlabel("しきい値（このスコア以上を不良の疑いとする）")
plt.ylabel("1000 個あたりの費用（円）")
plt.title(f"{COMPANY}：検証用データで見たしきい値と費用")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
print(f"費用が最小のしきい値 {best_threshold:.4g}：1000 個あたり {costs.min():,.0f} 円")

# %% kenshu="mistake" answer="curve"
candidate_thresholds = np.linspace(0, 1, 101)
miss_rates = np.array([np.mean(validation_scores[y_validation == 1] < t) for t in candidate_thresholds])
false_alarm_rates = np.array([np.mean(validation_scores[y_validation == 0] >= t) for t in candidate_thresholds])
costs = cost_per_thousand(miss_rates, false_alarm_rates, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK)
best_threshold = float(candidate_thresholds[np.argmin(costs)])

# %% kenshu="test" grade_id="test_curve" points=3
assert np.shape(miss_rates) == np.shape(candidate_thresholds) == np.shape(false_alarm_rates) == np.shape(costs), "candidate_thresholds、miss_rates、false_alarm_rates、costs は同じ長さにしてください。"
assert np.all(np.isin(validation_scores, candidate_thresholds)), "検証用のスコアはすべて候補に入れてください（np.unique(validation_scores)）。"
### BEGIN HIDDEN TESTS
assert np.all(np.diff(candidate_thresholds) > 0), "candidate_thresholds は重複なく小さい順に並べてください。"
assert candidate_thresholds[-1] > validation_scores.max(), "最後に、どの部品も不良と判定しない候補（np.inf）を足してください。"
for _k in sorted({0, len(candidate_thresholds) // 2, len(candidate_thresholds) - 1}):
    _t = candidate_thresholds[_k]
    assert abs(miss_rates[_k] - np.mean(validation_scores[y_validation == 1] < _t)) < 1e-9, "miss_rates は、検証用の不良品のうちスコアが候補より小さいものの割合です。"
    assert abs(false_alarm_rates[_k] - np.mean(validation_scores[y_validation == 0] >= _t)) < 1e-9, "false_alarm_rates は、検証用の良品のうちスコアが候補以上のものの割合です。"
assert np.allclose(costs, cost_per_thousand(miss_rates, false_alarm_rates, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK)), "costs は問1 の cost_per_thousand に、自社のラインの数字を渡して計算してください。"
assert costs[list(candidate_thresholds).index(best_threshold)] == costs.min(), "best_threshold は費用が最小の候補にしてください（np.argmin(costs)）。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 kenshu の choose_threshold に同じ費用を渡す
#
# `kenshu inspect` は、しきい値を `choose_threshold(scores, labels)` で決めます。既定の決め方（`rule="recall"`）は
# 「検証用の不良品を 1 個も見逃さないしきい値のうち、過検出がいちばん少ないもの」です。費用で決める `rule="cost"` もあり、
# そのときは **検証用の個数** で「`miss_cost` × 見逃した数 ＋ `false_alarm_cost` × 過検出の数」が最小のしきい値を選びます。
#
# 問1 の式を変形すると、
#
# 費用 ＝ 1000 ×（ $p$ × 見直しの手間 ＋ $p \cdot m$ ×（流出の損失 − 見直しの手間）＋ $(1-p) f$ × 見直しの手間 ）
#
# 最初の項はしきい値によらないので、費用を最小にするしきい値は、
# 見逃し率 $m$ ＝ 見逃した数 ÷ 検証用の不良品の数、過検出率 $f$ ＝ 過検出の数 ÷ 検証用の良品の数 を入れた
# 「見逃した数 × $p$（流出の損失 − 見直しの手間）÷ 不良品の数 ＋ 過検出の数 × $(1-p)$ × 見直しの手間 ÷ 良品の数」を最小にするしきい値と同じです。
#
# 1. この 2 つの重みを `(miss_cost, false_alarm_cost)` として返す `kenshu_costs` を完成させてください（どちらも 0 以上の数）。
# 2. それを渡した `choose_threshold(validation_scores, y_validation, rule="cost", miss_cost=..., false_alarm_cost=..., defect_rate=LINE_DEFECT_RATE)` を `cost_choice` に、
#    既定の決め方 `choose_threshold(validation_scores, y_validation, defect_rate=LINE_DEFECT_RATE)` を `default_choice` に入れてください。

# %% kenshu="answer" grade_id="kenshu_rule"
def kenshu_costs(*, defect_rate, cost_miss, cost_recheck, n_good, n_defect):
    """Return (miss_cost, false_alarm_cost) with which choose_threshold(rule="cost") minimises cost_per_thousand."""
    ### BEGIN SOLUTION
    miss_cost = defect_rate * (cost_miss - cost_recheck) / n_defect
    false_alarm_cost = (1 - defect_rate) * cost_recheck / n_good
    return miss_cost, false_alarm_cost
    ### END SOLUTION


### BEGIN SOLUTION
miss_cost, false_alarm_cost = kenshu_costs(
    defect_rate=LINE_DEFECT_RATE,
    cost_miss=COST_MISS,
    cost_recheck=COST_RECHECK,
    n_good=int(np.sum(y_validation == 0)),
    n_defect=int(np.sum(y_validation == 1)),
)
cost_choice = choose_threshold(
    validation_scores,
    y_validation,
    rule="cost",
    miss_cost=miss_cost,
    false_alarm_cost=false_alarm_cost,
    defect_rate=LINE_DEFECT_RATE,
)
default_choice = choose_threshold(validation_scores, y_validation, defect_rate=LINE_DEFECT_RATE)
### END SOLUTION


def line_cost(threshold, scores, labels):
    """Return the cost per 1,000 parts on the line when *threshold* is applied to these scores."""
    result = evaluate_scores(scores, labels, threshold)
    return float(cost_per_thousand(result.miss_rate, result.false_alarm_rate, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK))


comparison = pd.DataFrame(
    [
        {
            "決め方": name,
            "しきい値": choice.threshold,
            "見逃し（検証用）": f"{choice.misses} / {choice.n_defect}",
            "過検出（検証用）": f"{choice.false_alarms} / {choice.n_good}",
            "1000 個あたりの費用（円）": round(line_cost(choice.threshold, validation_scores, y_validation)),
            "人が見直す数（1000 個あたり）": round(choice.set_aside_per_thousand, 1),
        }
        for name, choice in [("既定（見逃し 0）", default_choice), ("費用（rule=\"cost\"）", cost_choice)]
    ]
)
display(comparison)

# %% kenshu="mistake" answer="kenshu_rule"
def kenshu_costs(*, defect_rate, cost_miss, cost_recheck, n_good, n_defect):
    return cost_miss, cost_recheck


miss_cost, false_alarm_cost = kenshu_costs(defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK, n_good=int(np.sum(y_validation == 0)), n_defect=int(np.sum(y_validation == 1)))
cost_choice = choose_threshold(validation_scores, y_validation, rule="cost", miss_cost=miss_cost, false_alarm_cost=false_alarm_cost)
default_choice = choose_threshold(validation_scores, y_validation)


def line_cost(threshold, scores, labels):
    result = evaluate_scores(scores, labels, threshold)
    return float(cost_per_thousand(result.miss_rate, result.false_alarm_rate, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK))

# %% kenshu="test" grade_id="test_kenshu_rule" points=3
_weights = kenshu_costs(defect_rate=0.1, cost_miss=110, cost_recheck=10, n_good=90, n_defect=10)
assert len(_weights) == 2, "kenshu_costs は 2 つの数 (miss_cost, false_alarm_cost) を返してください。"
assert min(_weights) >= 0, "kenshu_costs の 2 つの重みは 0 以上です（choose_threshold は負の費用を受け付けません）。"
assert cost_choice.rule == "cost", "cost_choice は rule=\"cost\" で選んでください。"
assert default_choice.rule == "recall", "default_choice は既定の決め方（rule を指定しない）で選んでください。"
### BEGIN HIDDEN TESTS
assert abs(_weights[0] / _weights[1] - 10.0) < 1e-9, "不良率 0.1、損失 110 円、手間 10 円、良品 90 個、不良品 10 個なら、重みは 0.1 × (110 − 10) ÷ 10 ＝ 1 と 0.9 × 10 ÷ 90 ＝ 0.1 です（比が 10 倍なら正解）。"
_other = kenshu_costs(defect_rate=0.5, cost_miss=20, cost_recheck=10, n_good=10, n_defect=40)
assert abs(_other[0] / _other[1] - 0.25) < 1e-9, "検証用の不良品が多いほど、見逃し 1 個の重みは小さくなります（不良品の数で割る）。"
assert default_choice.misses == 0, "default_choice は既定の決め方で、検証用の不良品を 1 個も見逃さないはずです。"
assert abs(default_choice.defect_rate - LINE_DEFECT_RATE) < 1e-12, "default_choice は choose_threshold(validation_scores, y_validation, defect_rate=LINE_DEFECT_RATE) にしてください。"
assert abs(cost_choice.defect_rate - LINE_DEFECT_RATE) < 1e-12, "cost_choice には defect_rate=LINE_DEFECT_RATE を渡してください。"
assert cost_choice.n_defect == int(np.sum(y_validation == 1)), "cost_choice は検証用のスコアとラベルで選んでください。"
_defects = validation_scores[y_validation == 1]
_good = validation_scores[y_validation == 0]
_reference = [
    1000 * (LINE_DEFECT_RATE * np.mean(_defects < t) * COST_MISS + (LINE_DEFECT_RATE * np.mean(_defects >= t) + (1 - LINE_DEFECT_RATE) * np.mean(_good >= t)) * COST_RECHECK)
    for t in np.append(np.unique(validation_scores), np.inf)
]
_chosen = 1000 * (LINE_DEFECT_RATE * np.mean(_defects < cost_choice.threshold) * COST_MISS + (LINE_DEFECT_RATE * np.mean(_defects >= cost_choice.threshold) + (1 - LINE_DEFECT_RATE) * np.mean(_good >= cost_choice.threshold)) * COST_RECHECK)
assert _chosen <= min(_reference) * (1 + 1e-9) + 1e-9, "choose_threshold(rule=\"cost\") のしきい値で、1000 個あたりの費用が最小になっていません。kenshu_costs の重みを確かめてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 費用の比としきい値（採点されません）
#
# 流出の損失が見直しの手間の何倍かで、ちょうどよいしきい値は変わります。下のグラフは、比を 1 倍から 10 万倍まで変えたときの
# 費用が最小のしきい値と、そのとき 1000 個あたり人が見直す数です。比が大きいほどしきい値は下がり（疑わしいものは見直す）、見直す数は増えます。
# 自社の比がグラフのどこにあるか、見積もりが 10 倍ずれたらしきい値がどれだけ動くかを見てください。

# %%
ratios = np.logspace(0, 5, 26)
sweep_thresholds, sweep_rechecked = [], []
for ratio in ratios:
    sweep_costs = cost_per_thousand(miss_rates, false_alarm_rates, defect_rate=LINE_DEFECT_RATE, cost_miss=ratio * COST_RECHECK, cost_recheck=COST_RECHECK)
    best = int(np.argmin(sweep_costs))
    sweep_thresholds.append(candidate_thresholds[best])
    sweep_rechecked.append(1000 * (LINE_DEFECT_RATE * (1 - miss_rates[best]) + (1 - LINE_DEFECT_RATE) * false_alarm_rates[best]))

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
finite_sweep = np.isfinite(sweep_thresholds)
axes[0].semilogx(ratios[finite_sweep], np.asarray(sweep_thresholds)[finite_sweep], marker="o")
axes[0].set_ylabel("費用が最小のしきい値")
axes[1].semilogx(ratios, sweep_rechecked, marker="o", color="darkorange")
axes[1].axhline(RECHECK_CAPACITY_PER_THOUSAND, color="gray", linestyle=":", label="見直せる数の上限")
axes[1].set_ylabel("人が見直す数（1000 個あたり）")
axes[1].legend()
for axis in axes:
    axis.axvline(COST_MISS / COST_RECHECK, color="red", linestyle="--")
    axis.set_xlabel("流出の損失 ÷ 見直しの手間（赤い線が自社の値）")
    axis.grid(alpha=0.3)
fig.suptitle(f"{COMPANY}：費用の比としきい値")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 問4 人手の上限の中で決め、テスト用データで確かめる
#
# 費用が最小のしきい値でも、検査員が見直せる数を超えるなら使えません。1000 個あたり人が見直す数は
#
# 見直す数 ＝ 1000 ×（ $p(1-m) + (1-p)f$ ）
#
# です（ラインの不良率 $p$ で計算します。検証用データの不良品の割合ではありません）。
#
# 1. 問2 の各候補で見直す数を `rechecked_per_thousand`（配列）に、それが `RECHECK_CAPACITY_PER_THOUSAND` 以下かを `feasible`（真偽の配列）に
# 2. `feasible` な候補のうち費用が最小のものを `line_threshold` に（`np.inf` はどれも見直さないので、必ず 1 つは `feasible` です）
# 3. `line_threshold` で **テスト用データ** を判定した成績 `evaluate_scores(test_scores, y_test, line_threshold)` を `test_result` に、
#    その見逃し率と過検出率での 1000 個あたりの費用（問1 の関数）を `test_cost` に入れてください。

# %% kenshu="answer" grade_id="capacity"
### BEGIN SOLUTION
rechecked_per_thousand = 1000 * (LINE_DEFECT_RATE * (1 - miss_rates) + (1 - LINE_DEFECT_RATE) * false_alarm_rates)
feasible = rechecked_per_thousand <= RECHECK_CAPACITY_PER_THOUSAND
feasible_costs = np.where(feasible, costs, np.inf)
line_threshold = float(candidate_thresholds[np.argmin(feasible_costs)])
test_result = evaluate_scores(test_scores, y_test, line_threshold)
test_cost = float(
    cost_per_thousand(
        test_result.miss_rate,
        test_result.false_alarm_rate,
        defect_rate=LINE_DEFECT_RATE,
        cost_miss=COST_MISS,
        cost_recheck=COST_RECHECK,
    )
)
### END SOLUTION
chosen = list(candidate_thresholds).index(line_threshold)
print(f"人手の上限 {RECHECK_CAPACITY_PER_THOUSAND} 個の中で選んだしきい値 {line_threshold:.4g}")
print(f"  検証用：見逃し率 {miss_rates[chosen]:.3f}、過検出率 {false_alarm_rates[chosen]:.3f}、1000 個あたり {costs[chosen]:,.0f} 円、見直し {rechecked_per_thousand[chosen]:.1f} 個")
print(f"  テスト用：見逃し率 {test_result.miss_rate:.3f}（不良品 {test_result.n_defect} 個）、過検出率 {test_result.false_alarm_rate:.3f}（良品 {test_result.n_good} 個）、1000 個あたり {test_cost:,.0f} 円")

# %% kenshu="mistake" answer="capacity"
rechecked_per_thousand = 1000 * (LINE_DEFECT_RATE * (1 - miss_rates) + (1 - LINE_DEFECT_RATE) * false_alarm_rates)
feasible = rechecked_per_thousand <= RECHECK_CAPACITY_PER_THOUSAND
line_threshold = best_threshold
test_result = evaluate_scores(validation_scores, y_validation, line_threshold)
test_cost = float(cost_per_thousand(test_result.miss_rate, test_result.false_alarm_rate, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK))

# %% kenshu="test" grade_id="test_capacity" points=3
assert np.shape(rechecked_per_thousand) == np.shape(candidate_thresholds) == np.shape(feasible), "rechecked_per_thousand と feasible は候補と同じ長さにしてください。"
assert line_threshold in candidate_thresholds, "line_threshold は問2 の候補から選んでください。"
assert test_result.n_images == len(y_test), "test_result はテスト用データ（test_scores, y_test）で計算してください。"
### BEGIN HIDDEN TESTS
_rechecked = 1000 * (LINE_DEFECT_RATE * (1 - miss_rates) + (1 - LINE_DEFECT_RATE) * false_alarm_rates)
assert np.allclose(rechecked_per_thousand, _rechecked), "見直す数は 1000 ×（不良率 ×（1 − 見逃し率）＋（1 − 不良率）× 過検出率）です。ラインの不良率 LINE_DEFECT_RATE を使ってください。"
assert np.array_equal(np.asarray(feasible, dtype=bool), _rechecked <= RECHECK_CAPACITY_PER_THOUSAND), "feasible は「見直す数が RECHECK_CAPACITY_PER_THOUSAND 以下」です。"
_index = list(candidate_thresholds).index(line_threshold)
assert _rechecked[_index] <= RECHECK_CAPACITY_PER_THOUSAND, "line_threshold では、見直す数が人手の上限を超えています。"
assert costs[_index] <= costs[_rechecked <= RECHECK_CAPACITY_PER_THOUSAND].min() + 1e-9, "line_threshold は、人手の上限に収まる候補のうち費用が最小のものにしてください。"
_expected = evaluate_scores(test_scores, y_test, line_threshold)
assert test_result.confusion == _expected.confusion, "test_result は evaluate_scores(test_scores, y_test, line_threshold) にしてください。"
assert abs(test_cost - float(cost_per_thousand(_expected.miss_rate, _expected.false_alarm_rate, defect_rate=LINE_DEFECT_RATE, cost_miss=COST_MISS, cost_recheck=COST_RECHECK))) < 1e-6, "test_cost は、テスト用の見逃し率と過検出率から問1 の関数で計算してください。"
### END HIDDEN TESTS

# %% [markdown]
# ## しきい値の説明（講師が採点します）
#
# {{ company }} のラインの責任者に、`kenshu inspect` のモデルをどのしきい値で使うかを説明する文を書いてください（10〜15 行）。
# 次の 4 点を必ず入れてください。
#
# 1. `LINE_DEFECT_RATE`、`COST_MISS`、`COST_RECHECK`、`RECHECK_CAPACITY_PER_THOUSAND` に選んだ値と、その根拠（誰に聞いたか、どの記録から出したか）。
# 2. 既定の決め方（見逃し 0）、費用が最小、人手の上限の中で費用が最小、の 3 つのしきい値のどれを勧めるか。1000 個あたりの費用と見直す数を示して。
# 3. 検証用・テスト用の不良品の数から見て、見逃し率の数字はどのくらい確かか。テスト用の結果が検証用と違った場合、その理由。
# 4. 導入後にしきい値を見直す条件（不良率が変わった、流出が起きた、検査員の人数が変わった など）と、その時に何を測り直すか。

# %% [markdown] kenshu="written" grade_id="reflection" points=6
# （解答例）ラインの不良率は過去 6 か月の検査記録から 1.5%、流出 1 個の損失は昨年の返品 3 件の選別費と運賃の平均から約 8 万円、
# 見直し 1 個の手間は検査員の時給 2,400 円で 1 個 15 秒として約 10 円（置き場と記録を入れて 30 円）としました。
# 検査員 1 人が 1 時間に見直せるのは約 200 個で、ラインは 1 時間に 3,000 個流れるので、上限は 1000 個あたり 60 個です。
# 既定の決め方は検証用の見逃しが 0 ですが見直しが 1000 個あたり 120 個で、人手の上限を超えます。
# 費用が最小のしきい値は見逃し 1 個を許して 1000 個あたり約 1,500 円、見直し 40 個で上限に収まるので、これを勧めます。
# ただし検証用の不良品は 30 個ほどなので、見逃し 1 個の差で見逃し率は約 3% 動きます。テスト用で見逃し率が検証用より高かったのは、
# 検証用にない向きの割れがテスト用に入っていたためと考えます。
# 最初の 1 か月は目視の全数検査と並べて動かし、見逃しと見直しの数を数えます。不良率が 2 倍になったとき、流出が 1 件でも起きたとき、
# 検査員の人数が変わったときに、このノートブックの数字を書き換えてしきい値を選び直します。
