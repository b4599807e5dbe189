# %% [markdown]
# # 実習 L3 振動の FFT と包絡線スペクトルで軸受の傷を見つける
#
# {{ company }} の課題：**{{ problem }}**
#
# モーターやポンプの故障でいちばん多いのは軸受（ベアリング）です。軌道面に小さな傷ができると、
# 玉が傷の上を通るたびに「コツン」という衝撃が起こります。このくり返しの周波数は、軸受の寸法と回転数で決まります。
#
# | 傷の場所 | くり返し周波数 |
# | --- | --- |
# | 外輪 | BPFO = n/2 · fr · (1 − d/D · cos φ) |
# | 内輪 | BPFI = n/2 · fr · (1 + d/D · cos φ) |
# | 転動体（玉） | 2 × BSF、BSF = D/(2d) · fr · (1 − (d/D · cos φ)²) |
#
# （n：玉の数、d：玉の直径、D：ピッチ円直径、φ：接触角、fr：軸の回転周波数）
#
# 衝撃そのものは小さく、ふつうの FFT では回転による大きな振動に埋もれます。そこで
# **共振の帯域だけを取り出す → 包絡線（振幅の外形）をとる → FFT** の順に処理します。これを包絡線分析と呼びます。
#
# 各問の解答セルにある `raise NotImplementedError()` の行を自分のコードに書き換えてください。すぐ下のセルがテストです。

# %% [markdown]
# ## パラメータ
#
# `FAULT` はシミュレータに入れる傷の種類（`"outer_race"`, `"inner_race"`, `"ball"`）です。講師が受講者ごとに変えることがあります。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
FAULT = "outer_race"
SHAFT_RPM = 1500.0
SAMPLE_RATE = 1000.0
N_SAMPLES = 8192
RANDOM_STATE = 0

# %% kenshu="readonly" grade_id="setup"
import matplotlib.pyplot as plt
import numpy as np
from scipy.signal import butter, hilbert, sosfiltfilt

from kenshu.datasets import bearing_fault_frequencies
from kenshu.hardware_labs import SensorSimulator, SerialSensor
from kenshu.plotting import use_japanese_font

use_japanese_font()

# Read N_SAMPLES accelerometer samples (one line each) from the simulated MPU6050 board.
with SensorSimulator(sensor="vibration", fault=FAULT, rate=SAMPLE_RATE, random_state=RANDOM_STATE) as simulator:
    with SerialSensor(simulator.path) as sensor:
        samples = [reading.values["ax"] for reading in sensor.readings(max_readings=N_SAMPLES)]
        stats = sensor.stats
ax_g = np.array(samples)
frequencies = bearing_fault_frequencies(SHAFT_RPM)
print(f"{COMPANY}：{len(ax_g)} サンプル（{len(ax_g) / SAMPLE_RATE:.1f} 秒）、欠番 {stats.missing}")
print({name: round(value, 1) for name, value in frequencies.items()})

# %% [markdown]
# ## 問1 振幅スペクトル
#
# 関数 `amplitude_spectrum(signal, sample_rate)` を書いてください。
#
# 1. 平均を引く（重力などの一定成分を除く）
# 2. ハン窓 `np.hanning(len(signal))` を掛ける（端の切れ目による広がりを抑える）
# 3. `np.fft.rfft` で FFT し、絶対値に `2 / 窓の合計` を掛けて片側振幅にする
# 4. 周波数の軸は `np.fft.rfftfreq(len(signal), 1 / sample_rate)`
#
# `(freqs, amps)` の組を返します。振幅 A の正弦波なら、その周波数で値がほぼ A になります。

# %% kenshu="answer" grade_id="spectrum"
def amplitude_spectrum(signal, sample_rate):
    ### BEGIN SOLUTION
    signal = np.asarray(signal, dtype=float)
    window = np.hanning(len(signal))
    amps = np.abs(np.fft.rfft((signal - signal.mean()) * window)) * 2 / window.sum()
    freqs = np.fft.rfftfreq(len(signal), 1 / sample_rate)
    return freqs, amps
    ### END SOLUTION


freqs, amps = amplitude_spectrum(ax_g, SAMPLE_RATE)
figure, axis = plt.subplots(figsize=(8, 3))
axis.plot(freqs, amps)
axis.set_xlabel("周波数 [Hz]")
axis.set_ylabel("振幅 [g]")
axis.set_title("加速度の振幅スペクトル")
plt.show()

# %% kenshu="test" grade_id="test_spectrum" points=3
test_time = np.arange(2000) / 1000.0
test_freqs, test_amps = amplitude_spectrum(2.0 * np.sin(2 * np.pi * 50 * test_time) + 5.0, 1000.0)
assert len(test_freqs) == len(test_amps) == 1001, "rfft の長さは N/2 + 1 です"
assert np.isclose(test_freqs[np.argmax(test_amps)], 50.0), "50 Hz の正弦波のピークは 50 Hz です"
### BEGIN HIDDEN TESTS
assert abs(test_amps.max() - 2.0) < 0.1, "振幅 2 の正弦波なら、ピークの値はほぼ 2 です（2 / 窓の合計）"
assert test_amps[0] < 0.05, "平均（一定成分）を引いてください"
shaft_bin = np.argmin(np.abs(freqs - frequencies["shaft"]))
assert amps[shaft_bin] > 3 * np.median(amps), "回転周波数 (25 Hz) の山が見えるはずです"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 包絡線スペクトル
#
# 関数 `envelope_spectrum(signal, sample_rate, band)` を書いてください。
#
# 1. 4 次のバターワース帯域通過フィルタで `band = (下限, 上限)` Hz だけを取り出す：
#    `sos = butter(4, band, btype="bandpass", fs=sample_rate, output="sos")`、`sosfiltfilt(sos, signal)`
# 2. ヒルベルト変換の絶対値で包絡線をとる：`np.abs(hilbert(filtered))`
# 3. 包絡線の振幅スペクトルを問1 の関数で求めて返す
#
# 共振の帯域は 200〜450 Hz とします。

# %% kenshu="answer" grade_id="envelope"
BAND = (200.0, 450.0)


def envelope_spectrum(signal, sample_rate, band):
    ### BEGIN SOLUTION
    sos = butter(4, band, btype="bandpass", fs=sample_rate, output="sos")
    filtered = sosfiltfilt(sos, np.asarray(signal, dtype=float) - np.mean(signal))
    envelope = np.abs(hilbert(filtered))
    return amplitude_spectrum(envelope, sample_rate)
    ### END SOLUTION


env_freqs, env_amps = envelope_spectrum(ax_g, SAMPLE_RATE, BAND)
figure, axis = plt.subplots(figsize=(8, 3))
axis.plot(env_freqs, env_amps)
for name, value in [("BPFO", frequencies["BPFO"]), ("BPFI", frequencies["BPFI"]), ("2×BSF", 2 * frequencies["BSF"])]:
    axis.axvline(value, color="gray", linestyle="--")
    axis.text(value, env_amps.max() * 0.9, name)
axis.set_xlim(0, 250)
axis.set_xlabel("周波数 [Hz]")
axis.set_ylabel("包絡線の振幅 [g]")
axis.set_title("包絡線スペクトル")
plt.show()

# %% kenshu="test" grade_id="test_envelope" points=3
assert len(env_freqs) == len(env_amps), "周波数と振幅の長さが違います"
low = (env_freqs > 5) & (env_freqs < 250)
peak_hz = env_freqs[low][np.argmax(env_amps[low])]
print(f"包絡線スペクトルの最大ピーク: {peak_hz:.1f} Hz")
assert env_amps[low].max() > 5 * np.median(env_amps[low]), "傷のくり返し周波数に、はっきりした山が出るはずです"
### BEGIN HIDDEN TESTS
burst_time = np.arange(4000) / 1000.0
bursts = np.sin(2 * np.pi * 300 * burst_time) * (1 + np.cos(2 * np.pi * 40 * burst_time))
test_env_freqs, test_env_amps = envelope_spectrum(bursts, 1000.0, BAND)
assert abs(test_env_freqs[np.argmax(test_env_amps[1:]) + 1] - 40.0) < 0.5, "300 Hz を 40 Hz で変調した信号の包絡線は 40 Hz です"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 傷の場所を判定する
#
# 関数 `diagnose(env_freqs, env_amps, frequencies)` を書いてください。BPFO, BPFI, 2×BSF のそれぞれについて、
# その周波数 ±2 % の範囲にある包絡線スペクトルの最大値を、5〜250 Hz の中央値で割った比を計算します。
# いちばん大きい比が 10 以上ならその傷（`"outer_race"`, `"inner_race"`, `"ball"`）を、そうでなければ `"none"` を返します。

# %% kenshu="answer" grade_id="diagnose"
def diagnose(env_freqs, env_amps, frequencies):
    ### BEGIN SOLUTION
    candidates = {
        "outer_race": frequencies["BPFO"],
        "inner_race": frequencies["BPFI"],
        "ball": 2 * frequencies["BSF"],
    }
    background = np.median(env_amps[(env_freqs > 5) & (env_freqs < 250)])
    ratios = {}
    for name, center in candidates.items():
        near = (env_freqs > center * 0.98) & (env_freqs < center * 1.02)
        ratios[name] = env_amps[near].max() / background
    best = max(ratios, key=ratios.get)
    return best if ratios[best] >= 10 else "none"
    ### END SOLUTION


result = diagnose(env_freqs, env_amps, frequencies)
print("判定:", result)

# %% kenshu="test" grade_id="test_diagnose" points=3
assert result in ("outer_race", "inner_race", "ball", "none"), "返す値は 4 種類のどれかです"
assert result == FAULT, f"シミュレータの傷は {FAULT} です"
### BEGIN HIDDEN TESTS
flat_freqs = np.linspace(0, 500, 2049)
flat_amps = np.ones_like(flat_freqs)
assert diagnose(flat_freqs, flat_amps, frequencies) == "none", "山がなければ none です"
spiky = flat_amps.copy()
spiky[np.argmin(np.abs(flat_freqs - frequencies["BPFI"]))] = 30
assert diagnose(flat_freqs, spiky, frequencies) == "inner_race", "BPFI の山は内輪の傷です"
### END HIDDEN TESTS

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# ## 振り返り
#
# 自社の設備で包絡線分析を使うには、回転数と軸受の型番のほかに何を調べておく必要がありますか。
# また、加速度センサーのサンプリング周波数（MPU6050 は最大 1 kHz）が足りないと何が困りますか。2〜3 文で書いてください。
