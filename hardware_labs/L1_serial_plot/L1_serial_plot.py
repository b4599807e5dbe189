# %% [markdown]
# # 実習 L1 シリアルでセンサーを読み、グラフに描く
#
# {{ company }} の課題：**{{ problem }}**
#
# 工場の設備に付けたセンサーの値は、多くの場合シリアル通信（USB シリアルや UART）でパソコンや Raspberry Pi に届きます。
# この実習では、温湿度・気圧センサー（BME280）を載せたボードが 1 行に 1 回の測定値を送ってくるものとして、
#
# 1. シリアルポートから行を読み、表（pandas の DataFrame）にする
# 2. 移動平均をとり、グラフに描く
# 3. 壊れた行がいくつ混ざっていたかを確かめる
#
# を行います。行の形式（KS1 プロトコル）は次のとおりです。最後の `*` の後ろは誤り検出のためのチェックサムです。
#
# ```
# $KS1,sim-env-01,42,4200,env,temperature=23.51:degC,humidity=45.2:%RH,pressure=1013.2:hPa*87DC
# ```
#
# 実機がなくても、ノートブックがシミュレータを擬似端末（本物のシリアルポートと同じように開ける装置ファイル）で起動します。
# 各問の解答セルにある `raise NotImplementedError()` の行を自分のコードに書き換えてください。すぐ下のセルがテストです。

# %% [markdown]
# ## パラメータ
#
# 講師が設定します。`PORT` を空にしておくとシミュレータを使います。Raspberry Pi の実機では `"/dev/ttyUSB0"` などにします。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
PORT = ""
RATE = 20.0
CORRUPT = 0.05
N_READINGS = 200
LIVE_SECONDS = 5.0
RANDOM_STATE = 0

# %% kenshu="readonly" grade_id="setup"
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kenshu.hardware_labs import SensorSimulator, SerialSensor
from kenshu.plotting import use_japanese_font

use_japanese_font()

simulator = None
if not PORT:
    # A simulated BME280 board that sometimes sends a damaged line, as a loose cable does.
    simulator = SensorSimulator(sensor="env", rate=RATE, corrupt=CORRUPT, random_state=RANDOM_STATE).start()
    PORT = simulator.path
print(f"{COMPANY}：センサーボードのポート {PORT}")

# %% [markdown]
# ## 問1 シリアルポートから読み、表にする
#
# `SerialSensor(PORT)` は `with` 文で開くと、抜けるときに自動で閉じます。
# `sensor.readings(max_readings=N)` は読み取り値（`Reading`）を N 個まで順に返します。
# 1 つの `Reading` は `sequence`（通し番号）、`values`（`{"temperature": 23.5, ...}` の辞書）、`units`（単位の辞書）を持ちます。
#
# `N_READINGS` 個を読み、列 `sequence`, `temperature`, `humidity`, `pressure` を持つ DataFrame `df` を作ってください。
# 読み終えたら `sensor.stats`（壊れた行の数などの集計）を変数 `stats` に入れてください。

# %% kenshu="answer" grade_id="read_serial"
### BEGIN SOLUTION
rows = []
with SerialSensor(PORT) as sensor:
    for reading in sensor.readings(max_readings=N_READINGS):
        rows.append({"sequence": reading.sequence, **reading.values})
    stats = sensor.stats
df = pd.DataFrame(rows)
### END SOLUTION
print(df.head())
print(stats)

# %% kenshu="test" grade_id="test_read_serial" points=3
assert len(df) == N_READINGS, "N_READINGS 個の行が必要です"
for column in ["sequence", "temperature", "humidity", "pressure"]:
    assert column in df.columns, f"列 {column} がありません"
assert df["temperature"].between(-40, 85).all(), "温度が BME280 の測定範囲 (-40〜85 °C) を外れています"
### BEGIN HIDDEN TESTS
assert df["humidity"].between(0, 100).all(), "湿度は 0〜100 %RH です"
assert stats.readings >= N_READINGS, "stats は読み終えた後の sensor.stats です"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 移動平均と、壊れた行の割合
#
# センサーの値には細かいばらつき（ノイズ）があります。10 点の移動平均を列 `temperature_ma` として `df` に加えてください
# （`df["temperature"].rolling(10).mean()`）。
#
# また、受け取った行のうち捨てた行（チェックサム誤り・途中切れ・化け・重複）の割合を `bad_ratio` に入れてください。
# 捨てた行の数は `stats.rejected`、受け取った行の数は `stats.lines` です。

# %% kenshu="answer" grade_id="moving_average"
### BEGIN SOLUTION
df["temperature_ma"] = df["temperature"].rolling(10).mean()
bad_ratio = stats.rejected / stats.lines
### END SOLUTION
print(f"壊れた行の割合: {bad_ratio:.1%}")

# %% kenshu="test" grade_id="test_moving_average" points=2
assert "temperature_ma" in df.columns, "列 temperature_ma がありません"
assert df["temperature_ma"].iloc[:9].isna().all(), "最初の 9 行は 10 点がそろわないので NaN です"
assert 0 <= bad_ratio < 0.5, "bad_ratio は 0 以上 1 未満の割合です"
### BEGIN HIDDEN TESTS
assert np.isclose(df["temperature_ma"].iloc[9], df["temperature"].iloc[:10].mean()), "10 点の単純移動平均にしてください"
assert np.isclose(bad_ratio, stats.rejected / stats.lines), "捨てた行 ÷ 受け取った行です"
assert stats.lines >= stats.readings, "受け取った行には、捨てた行も含まれます"
### END HIDDEN TESTS

# %% [markdown]
# ## グラフ（ライブ表示）
#
# 次のセルは、ポートを開いたまま `LIVE_SECONDS` 秒のあいだ、新しい値が届くたびにグラフを描き直します。
# 実機ではセンサーに息を吹きかけると、湿度と温度が上がるのが見えます。

# %% kenshu="readonly" grade_id="live_plot"
from IPython.display import clear_output, display

live = df[["sequence", "temperature"]].tail(100).to_dict("records")
figure, axis = plt.subplots(figsize=(8, 3))
with SerialSensor(PORT) as sensor:
    end = time.monotonic() + LIVE_SECONDS
    while time.monotonic() < end:
        reading = sensor.read(timeout=1.0)
        if reading is None:
            continue
        live.append({"sequence": reading.sequence, "temperature": reading.values["temperature"]})
        frame = pd.DataFrame(live[-100:])
        axis.clear()
        axis.plot(frame["sequence"], frame["temperature"], label="温度")
        axis.set_xlabel("通し番号")
        axis.set_ylabel("温度 [°C]")
        axis.legend(loc="upper left")
        clear_output(wait=True)
        display(figure)
plt.close(figure)

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# ## 振り返り
#
# 自社の設備でシリアル通信のセンサーを使うとき、壊れた行や欠番（途中の行が届かないこと）はどんな原因で起こりそうですか。
# 欠番を見逃すと、どんな判断の誤りにつながりますか。2〜3 文で書いてください。

# %% kenshu="readonly" grade_id="cleanup"
if simulator is not None:
    simulator.stop()
