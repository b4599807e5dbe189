# %% [markdown]
# # 実習 L4 正常データだけで学ぶ異常検知をライブの振動に掛ける
#
# {{ company }} の課題：**{{ problem }}**
#
# 故障した設備のデータは、ふつうほとんどありません。故障させてデータを集めるわけにもいきません。
# そこで **正常な運転中のデータだけ** で「正常とはどういうものか」を学び、それから外れたものを異常とみなします（異常検知）。
#
# この実習では、
#
# 1. 振動の 1 窓（512 サンプル、約 0.5 秒）から特徴量を作る
# 2. 正常な軸受の振動で Isolation Forest を学習し、警報のしきい値を決める
# 3. ライブの振動（シリアル）に掛け、異常なら MQTT で警報を送る
#
# を行います。Isolation Forest は、データをランダムな分割で切り分けたとき **少ない回数で孤立する点** を異常とみなす方法です。
#
# 各問の解答セルにある `raise NotImplementedError()` の行を自分のコードに書き換えてください。すぐ下のセルがテストです。

# %% [markdown]
# ## パラメータ
#
# `BROKER_URL` が `None` なら、この実行だけの組み込みブローカーを 127.0.0.1 の空いているポートで起動します。
# 講師が用意したブローカーを使うときは、その URL を入れます。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
BROKER_URL = None
SITE = "kenshu"
LINE = "line1"
SAMPLE_RATE = 1000.0
WINDOW = 512
TRAIN_SECONDS = 30.0
LIVE_FAULT = "inner_race"
LIVE_WINDOWS = 20
RANDOM_STATE = 0

# %% kenshu="readonly" grade_id="setup"
import json
import uuid

import matplotlib.pyplot as plt
import numpy as np
import paho.mqtt.client as mqtt
from scipy.stats import kurtosis
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kenshu.hardware_labs import SensorSimulator, SerialSensor
from kenshu.hardware_labs.broker import ensure_broker, parse_broker_url
from kenshu.hardware_labs.vibration import VibrationStream
from kenshu.plotting import use_japanese_font

use_japanese_font()
broker_url, embedded_broker = ensure_broker(BROKER_URL)
# A run id in the topic prefix and the client ids keeps two runs on one broker apart.
RUN_ID = uuid.uuid4().hex[:6]
SITE = f"{SITE}-{RUN_ID}"

# Healthy machine: read TRAIN_SECONDS of accelerometer samples over serial and cut them into windows.
n_train = int(TRAIN_SECONDS * SAMPLE_RATE) // WINDOW
with SensorSimulator(sensor="vibration", device_id="pump-01", rate=SAMPLE_RATE, random_state=RANDOM_STATE) as healthy:
    with SerialSensor(healthy.path) as sensor:
        samples = [reading.values["ax"] for reading in sensor.readings(max_readings=n_train * WINDOW)]
train_windows = np.array(samples).reshape(n_train, WINDOW)
print(f"{COMPANY}：正常データ {n_train} 窓（{n_train * WINDOW / SAMPLE_RATE:.1f} 秒）")

# %% [markdown]
# ## 問1 1 窓の特徴量
#
# 関数 `window_features(window, sample_rate)` を書いてください。平均を引いた窓 `w` から、次の 7 個をこの順に並べた配列を返します。
#
# 1. RMS：`np.sqrt(np.mean(w ** 2))`
# 2. 尖度：`kurtosis(w, fisher=False)`（正規分布で 3。衝撃が混ざると大きくなる）
# 3. 波高率：`np.abs(w).max() / RMS`
# 4.〜7. 周波数帯 `BANDS` ごとのエネルギー：ハン窓の振幅スペクトル（L3 の問1 と同じ）を `amps` として、
#    帯域 `lo <= f < hi` の `np.sqrt(np.sum(amps[帯域] ** 2))`

# %% kenshu="answer" grade_id="features"
BANDS = [(0, 60), (60, 200), (200, 350), (350, 500)]


def window_features(window, sample_rate):
    ### BEGIN SOLUTION
    w = np.asarray(window, dtype=float)
    w = w - w.mean()
    rms = np.sqrt(np.mean(w**2))
    hann = np.hanning(len(w))
    amps = np.abs(np.fft.rfft(w * hann)) * 2 / hann.sum()
    freqs = np.fft.rfftfreq(len(w), 1 / sample_rate)
    energies = [np.sqrt(np.sum(amps[(freqs >= lo) & (freqs < hi)] ** 2)) for lo, hi in BANDS]
    return np.array([rms, kurtosis(w, fisher=False), np.abs(w).max() / rms, *energies])
    ### END SOLUTION


X_train = np.array([window_features(window, SAMPLE_RATE) for window in train_windows])
print("特徴量の形:", X_train.shape)

# %% kenshu="test" grade_id="test_features" points=3
sine = np.sin(2 * np.pi * 125 * np.arange(1000) / 1000.0)
sine_features = window_features(sine, 1000.0)
assert sine_features.shape == (7,), "特徴量は 7 個です"
assert np.isclose(sine_features[0], 1 / np.sqrt(2), atol=1e-3), "振幅 1 の正弦波の RMS は 1/√2 です"
### BEGIN HIDDEN TESTS
assert np.isclose(sine_features[1], 1.5, atol=0.01), "正弦波の尖度（fisher=False）は 1.5 です"
assert np.isclose(sine_features[2], np.sqrt(2), atol=0.01), "正弦波の波高率は √2 です"
assert sine_features[4] > 10 * max(sine_features[3], sine_features[5], sine_features[6]), "125 Hz は 60〜200 Hz の帯域です"
assert X_train.shape == (len(train_windows), 7), "X_train は窓ごとに 1 行です"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 正常データで学習し、しきい値を決める
#
# `make_pipeline(StandardScaler(), IsolationForest(n_estimators=200, random_state=RANDOM_STATE))` を `X_train` で学習し、`model` に入れてください。
# `model.score_samples(X)` は値が小さいほど異常らしいことを表します。学習データのスコアの 1 % 点
# （`np.quantile(..., 0.01)`）を `threshold` とし、関数 `is_alarm(window)` は窓のスコアが `threshold` より小さいとき `True` を返すようにします。

# %% kenshu="answer" grade_id="train"
### BEGIN SOLUTION
model = make_pipeline(StandardScaler(), IsolationForest(n_estimators=200, random_state=RANDOM_STATE))
model.fit(X_train)
threshold = np.quantile(model.score_samples(X_train), 0.01)


def is_alarm(window):
    features = window_features(window, SAMPLE_RATE).reshape(1, -1)
    return bool(model.score_samples(features)[0] < threshold)
### END SOLUTION


train_alarms = np.mean([is_alarm(window) for window in train_windows])
print(f"しきい値 {threshold:.3f}、学習データで警報が出る割合 {train_alarms:.1%}")

# %% kenshu="test" grade_id="test_train" points=3
assert train_alarms <= 0.05, "学習データ（正常）で警報が出るのは 1 % 程度のはずです"
assert isinstance(is_alarm(train_windows[0]), bool), "is_alarm は True か False を返します"
### BEGIN HIDDEN TESTS
fresh = VibrationStream(sample_rate=SAMPLE_RATE, random_state=RANDOM_STATE + 1000)
fresh_windows = [np.array([fresh.next_sample()[0] for _ in range(WINDOW)]) for _ in range(10)]
assert np.mean([is_alarm(window) for window in fresh_windows]) <= 0.2, "学習に使っていない正常データで警報が出すぎます"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 ライブの振動に掛け、MQTT で警報を送る
#
# 傷のある軸受（`LIVE_FAULT`）の振動がシリアルで届き続けています（`live_port`、用意済み）。
# `SerialSensor(live_port)` から読んだ `ax` を 512 個ずつの窓にまとめ、`LIVE_WINDOWS` 窓のそれぞれについて `is_alarm` を調べ、
# 結果（True/False）を順にリスト `alarms` に入れてください。
# 警報が出た窓ごとに、トピック `ALARM_TOPIC` へ QoS 1 で JSON（`{"window": 窓の番号, "device_id": "pump-01"}`）を送ります。
# MQTT クライアント `alarm_client`（paho-mqtt 2.x、接続済み）を使ってください。

# %% kenshu="readonly" grade_id="live_setup"
ALARM_TOPIC = f"{SITE}/{LINE}/pump-01/alarm"
live_board = SensorSimulator(
    sensor="vibration", device_id="pump-01", fault=LIVE_FAULT, rate=SAMPLE_RATE, random_state=RANDOM_STATE + 1
).start()
live_port = live_board.path
address = parse_broker_url(broker_url)

# The control room's side: a plain paho-mqtt 2.x subscriber that collects alarm messages.
received_alarms = []
alarm_listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"control-room-{RUN_ID}")
alarm_listener.on_message = lambda client, userdata, message: received_alarms.append(json.loads(message.payload))
alarm_listener.connect(address.host, address.port)
alarm_listener.subscribe(ALARM_TOPIC, qos=1)
alarm_listener.loop_start()

# The edge side: the client that sends alarms.
alarm_client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pump-01-edge-{RUN_ID}")
alarm_client.connect(address.host, address.port)
alarm_client.loop_start()

# %% kenshu="answer" grade_id="live"
### BEGIN SOLUTION
alarms = []
buffer = []
with SerialSensor(live_port) as sensor:
    for reading in sensor.readings():
        buffer.append(reading.values["ax"])
        if len(buffer) < WINDOW:
            continue
        alarm = is_alarm(np.array(buffer))
        if alarm:
            payload = {"window": len(alarms), "device_id": "pump-01"}
            alarm_client.publish(ALARM_TOPIC, json.dumps(payload), qos=1).wait_for_publish(5)
        alarms.append(alarm)
        buffer = []
        if len(alarms) >= LIVE_WINDOWS:
            break
### END SOLUTION
alarm_ratio = np.mean(alarms)
print(f"ライブ {len(alarms)} 窓のうち警報 {alarm_ratio:.0%}")

# %% kenshu="test" grade_id="test_live" points=3
import time

time.sleep(1.0)
assert len(alarms) == LIVE_WINDOWS, "LIVE_WINDOWS 窓を調べてください"
assert alarm_ratio >= 0.8, f"{LIVE_FAULT} の傷がある軸受なので、ほとんどの窓で警報が出るはずです"
### BEGIN HIDDEN TESTS
assert len(received_alarms) == int(np.sum(alarms)), "警報を出した窓の数だけ MQTT のメッセージが届くはずです"
assert all(alarm["device_id"] == "pump-01" for alarm in received_alarms), "device_id は pump-01 です"
### END HIDDEN TESTS

# %% [markdown]
# ## 警報の様子

# %% kenshu="readonly" grade_id="plot"
scores_train = model.score_samples(X_train)
figure, axis = plt.subplots(figsize=(8, 3))
axis.hist(scores_train, bins=20, alpha=0.7, label="学習データ（正常）")
axis.axvline(threshold, color="red", linestyle="--", label="しきい値")
axis.set_xlabel("異常スコア（小さいほど異常らしい）")
axis.set_ylabel("窓の数")
axis.legend()
plt.show()

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# ## 振り返り
#
# 自社の設備にこの異常検知を入れるなら、「正常」の学習データはいつ、どのくらいの期間集めますか。
# 回転数や負荷が変わる設備では何に気をつけますか。警報が多すぎる・少なすぎるときにはどうしますか。3〜4 文で書いてください。

# %% kenshu="readonly" grade_id="cleanup"
alarm_client.disconnect()
alarm_client.loop_stop()
alarm_listener.disconnect()
alarm_listener.loop_stop()
live_board.stop()
if embedded_broker is not None:
    embedded_broker.stop()
