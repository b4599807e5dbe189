# %% [markdown]
# # 実習 L5 Sigfox と LoRaWAN のペイロードを解読する
#
# {{ company }} の課題：**{{ problem }}**
#
# 工場の敷地が広い、電源が取れない、といった場所のセンサーには LPWA（省電力広域無線）が使われます。
# Sigfox は 1 回に最大 12 バイト、LoRaWAN も数十バイトしか送れないので、値は文字ではなく 2 進数で詰め込まれています。
# 受け取った側は、機器の仕様書にある「何バイト目から何ビットが何の値か」をもとに解読します。
#
# 各問の解答セルにある `raise NotImplementedError()` の行を自分のコードに書き換えてください。すぐ下のセルがテストです。

# %% [markdown]
# ## パラメータ

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
SIGFOX_PAYLOAD = "F3FD640201F42A000000"
N_UPLINKS = 12
RANDOM_STATE = 0

# %% kenshu="readonly" grade_id="setup"
import base64

import pandas as pd

from kenshu.hardware_labs.lpwa import decode_sigfox, decode_tts_uplink, make_tts_uplinks, parse_grammar

print(f"{COMPANY}：Sigfox のペイロード {SIGFOX_PAYLOAD}（{len(bytes.fromhex(SIGFOX_PAYLOAD))} バイト）")

# %% [markdown]
# ## 問1 Sigfox のペイロードを文法で読む
#
# 屋外のポンプに付けた Sigfox 端末の仕様書には、ペイロードが次のように書かれています（バイト位置は 0 から数えます）。
#
# | 名前 | バイト位置 | 型 | ビット長 | エンディアン | 倍率・単位 |
# | --- | --- | --- | --- | --- | --- |
# | temperature | 0 | 符号付き整数 | 16 | リトル | 0.01 °C |
# | humidity | 2 | 符号なし整数 | 8 | — | 0.5 %RH |
# | battery_low | 3 のビット 7 | 真偽値 | 1 | — | — |
# | mode | 3 のビット 0〜2 | 符号なし整数 | 3 | — | — |
# | vibration | 4 | 符号なし整数 | 16 | ビッグ | 0.001 g |
# | counter | 6 | 符号なし整数 | 32 | リトル | — |
#
# 文法は空白区切りで、1 つのフィールドを `名前:バイト位置[.ビット位置]:型:ビット長[:little-endian]` と書きます
# （型は `uint`, `int`, `bool`。ビット位置は最下位ビットが 0）。
# 仕様書どおりの文法を `SIGFOX_GRAMMAR` に、倍率と単位を `SCALES`（`{"temperature": (0.01, "degC"), ...}`）に入れ、
# `decode_sigfox(SIGFOX_PAYLOAD, parse_grammar(SIGFOX_GRAMMAR, scales=SCALES))` の結果を `sigfox` に入れてください。

# %% kenshu="answer" grade_id="sigfox"
### BEGIN SOLUTION
SIGFOX_GRAMMAR = (
    "temperature:0:int:16:little-endian humidity:2:uint:8 battery_low:3.7:bool:1 "
    "mode:3.0:uint:3 vibration:4:uint:16 counter:6:uint:32:little-endian"
)
SCALES = {"temperature": (0.01, "degC"), "humidity": (0.5, "%RH"), "vibration": (0.001, "g")}
sigfox = decode_sigfox(SIGFOX_PAYLOAD, parse_grammar(SIGFOX_GRAMMAR, scales=SCALES))
### END SOLUTION
print(sigfox)

# %% kenshu="test" grade_id="test_sigfox" points=3
assert set(sigfox) == {"temperature", "humidity", "battery_low", "mode", "vibration", "counter"}, "6 つのフィールドが必要です"
assert abs(sigfox["temperature"] - (-5.25)) < 1e-9, "温度は F3 FD（リトルエンディアン）= -525、× 0.01 です"
### BEGIN HIDDEN TESTS
assert abs(sigfox["humidity"] - 50.0) < 1e-9, "湿度は 0x64 = 100、× 0.5 です"
assert sigfox["battery_low"] is False, "0x02 のビット 7 は 0 です"
assert sigfox["mode"] == 2, "0x02 の下位 3 ビットは 2 です"
assert abs(sigfox["vibration"] - 0.5) < 1e-9, "振動は 01 F4（ビッグエンディアン）= 500、× 0.001 です"
assert sigfox["counter"] == 42, "カウンタは 2A 00 00 00（リトルエンディアン）= 42 です"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 自分で取り出す
#
# ライブラリがなくても読めるように、温度だけを自分で取り出す関数 `decode_temperature(payload)` を書いてください。
# `payload` は `bytes` で、先頭 2 バイトをリトルエンディアンの符号付き整数として読み（`int.from_bytes(..., "little", signed=True)`）、
# 0.01 を掛けた値を返します。

# %% kenshu="answer" grade_id="by_hand"
def decode_temperature(payload):
    ### BEGIN SOLUTION
    return int.from_bytes(payload[0:2], "little", signed=True) * 0.01
    ### END SOLUTION


print(decode_temperature(bytes.fromhex(SIGFOX_PAYLOAD)))

# %% kenshu="test" grade_id="test_by_hand" points=2
assert abs(decode_temperature(bytes.fromhex(SIGFOX_PAYLOAD)) - (-5.25)) < 1e-9, "F3 FD は -525 です"
### BEGIN HIDDEN TESTS
assert abs(decode_temperature(bytes([0x29, 0x09])) - 23.45) < 1e-9, "29 09 は 0x0929 = 2345 です"
assert abs(decode_temperature(bytes([0x00, 0x80, 0xFF])) - (-327.68)) < 1e-9, "00 80 は -32768 です"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 LoRaWAN（The Things Stack v3）のアップリンクを表にする
#
# The Things Stack は、端末から届いたメッセージを JSON で渡します（Webhook や MQTT の `.../up` トピック）。
# ペイロードは `uplink_message.frm_payload` に base64 で入っていて、`f_port` がペイロードの種類を表します。
# この端末の `f_port` 2 は「温度 int16 ビッグエンディアン 0.01 °C、続いて湿度 uint8 0.5 %RH」です。
#
# `uplinks`（用意済み、JSON を読み込んだ辞書のリスト）を 1 件ずつ `decode_tts_uplink(uplink, grammar={2: 文法})` で解読し、
# 列 `device_id`, `received_at`, `f_cnt`, `temperature`, `humidity`, `rssi` を持つ DataFrame `lora` を作ってください。
# `received_at` の順に並べます。

# %% kenshu="readonly" grade_id="uplinks"
uplinks = make_tts_uplinks(N_UPLINKS, random_state=RANDOM_STATE)
print(uplinks[0])

# %% kenshu="answer" grade_id="lorawan"
### BEGIN SOLUTION
lora_grammar = parse_grammar(
    "temperature:0:int:16 humidity:2:uint:8", scales={"temperature": (0.01, "degC"), "humidity": (0.5, "%RH")}
)
rows = []
for uplink in uplinks:
    decoded = decode_tts_uplink(uplink, grammar={2: lora_grammar})
    rows.append(
        {
            "device_id": decoded.device_id,
            "received_at": decoded.received_at,
            "f_cnt": decoded.f_cnt,
            "temperature": decoded.fields["temperature"],
            "humidity": decoded.fields["humidity"],
            "rssi": decoded.rssi,
        }
    )
lora = pd.DataFrame(rows).sort_values("received_at").reset_index(drop=True)
### END SOLUTION
print(lora.head())

# %% kenshu="test" grade_id="test_lorawan" points=3
assert len(lora) == N_UPLINKS, "アップリンクの数だけ行が必要です"
for column in ["device_id", "received_at", "f_cnt", "temperature", "humidity", "rssi"]:
    assert column in lora.columns, f"列 {column} がありません"
assert lora["received_at"].is_monotonic_increasing, "received_at の順に並べてください"
### BEGIN HIDDEN TESTS
first = sorted(uplinks, key=lambda uplink: uplink["received_at"])[0]
raw = base64.b64decode(first["uplink_message"]["frm_payload"])
assert abs(lora.loc[0, "temperature"] - int.from_bytes(raw[:2], "big", signed=True) * 0.01) < 1e-9, "温度はビッグエンディアンです"
assert abs(lora.loc[0, "humidity"] - raw[2] * 0.5) < 1e-9, "湿度は 3 バイト目 × 0.5 です"
### END HIDDEN TESTS

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# ## 振り返り
#
# 自社で LPWA のセンサーを使うなら、Sigfox と LoRaWAN のどちらが合いそうですか。送れるデータの量と回数、
# 電池の持ち、自前のゲートウェイの要否の面から 2〜3 文で書いてください。
