# %% [markdown]
# # 実習 L2 MQTT で送って受け取る
#
# {{ company }} の課題：**{{ problem }}**
#
# 工場のあちこちにあるセンサーの値を 1 か所に集めるとき、よく使われるのが MQTT です。
# 送る側（パブリッシャー）はトピック名を付けてブローカーへ送り、受け取る側（サブスクライバー）は
# 欲しいトピックをブローカーに登録（購読）しておきます。この実習のトピックは次の 4 段です。
#
# ```
# <site>/<line>/<device>/<sensor>      例: kenshu/line1/sim-current-01/current
# ```
#
# 同じブローカーを何人かで使っても混ざらないように、この実習の `SITE` には実行ごとに違う印 `RUN_ID` が付きます
# （例: `kenshu-3fa2c1/line1/sim-current-01/current`）。
#
# 中身（ペイロード）は JSON で、値と単位、読み取り時刻（UTC）、重複を見分けるための `message_id` が入っています。
# QoS 1 は「少なくとも 1 回届ける」約束なので、同じメッセージが 2 回届くことがあります。`message_id` で 1 回に数えます。
#
# 各問の解答セルにある `raise NotImplementedError()` の行を自分のコードに書き換えてください。すぐ下のセルがテストです。

# %% [markdown]
# ## パラメータ
#
# `BROKER_URL` が `None` なら、この実行だけの組み込みブローカーを 127.0.0.1 の空いているポートで起動します。
# 講師が用意したブローカーを使うときは、その URL（例: `"mqtt://127.0.0.1:1883"`）を入れます。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
BROKER_URL = None
SITE = "kenshu"
LINE = "line1"
N_MESSAGES = 100
TRAINEE_DEVICE = "trainee-01"
RANDOM_STATE = 0

# %% kenshu="readonly" grade_id="setup"
import json
import tempfile
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from kenshu.hardware_labs import SensorSimulator, SerialSensor
from kenshu.hardware_labs.broker import ensure_broker, parse_broker_url
from kenshu.hardware_labs.mqtt_bridge import MqttBridge
from kenshu.hardware_labs.subscriber import LiveSubscriber

broker_url, embedded_broker = ensure_broker(BROKER_URL)
print("ブローカー:", broker_url, "(組み込み)" if embedded_broker else "")

# Two runs at once (parallel autograding, a shared hub) may share one broker:
# a run id in the topic prefix and in every client id keeps their messages apart.
RUN_ID = uuid.uuid4().hex[:6]
SITE = f"{SITE}-{RUN_ID}"
PUBLISHER_ID = f"{TRAINEE_DEVICE}-{RUN_ID}"
print("トピックの先頭:", f"{SITE}/{LINE}/")

# A motor-current board on a pseudo-terminal, and the serial-to-MQTT bridge reading it.
simulator = SensorSimulator(sensor="current", rate=50, random_state=RANDOM_STATE).start()
workdir = tempfile.TemporaryDirectory(prefix="kenshu-L2-")
spool_path = Path(workdir.name) / "spool.sqlite"
bridge = MqttBridge(broker_url, spool_path=spool_path, site=SITE, line=LINE, client_id=f"lab-bridge-{RUN_ID}").start()
serial_port = SerialSensor(simulator.path)

# %% [markdown]
# ## 問1 トピックと購読フィルタ
#
# 関数 `make_topic(device, sensor)` を書いてください。`SITE` と `LINE` を使い、`"<SITE>/<LINE>/<device>/<sensor>"` の形の文字列を返します。
#
# 次に、`LINE` のすべての機器・すべてのセンサーを受け取る購読フィルタを `LINE_FILTER` に入れてください。
# MQTT のワイルドカードは、1 段だけに合う `+` と、それより下のすべてに合う `#`（最後の段にだけ書ける）です。

# %% kenshu="answer" grade_id="topics"
### BEGIN SOLUTION
def make_topic(device, sensor):
    return f"{SITE}/{LINE}/{device}/{sensor}"


LINE_FILTER = f"{SITE}/{LINE}/#"
### END SOLUTION
print(make_topic("sim-current-01", "current"), LINE_FILTER)

# %% kenshu="test" grade_id="test_topics" points=2
assert make_topic("sim-current-01", "current") == f"{SITE}/{LINE}/sim-current-01/current", "4 段のトピックにしてください"
assert mqtt.topic_matches_sub(LINE_FILTER, make_topic("press-02", "env")), "同じラインの別の機器にも合う必要があります"
### BEGIN HIDDEN TESTS
assert not mqtt.topic_matches_sub(LINE_FILTER, f"{SITE}/line9/press-02/env"), "別のラインには合わないようにしてください"
assert mqtt.topic_matches_sub(LINE_FILTER, make_topic("a", "vibration")), "どのセンサーにも合う必要があります"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 購読して、届いた値を表にする
#
# `LiveSubscriber(broker_url, topic=LINE_FILTER)` を `with` 文で開き、その中で
# `bridge.run(serial_port.readings(max_readings=N_MESSAGES))` を呼んでシリアルの値をブローカーへ送ります。
# 送り終えたら `subscriber.wait_for(N_MESSAGES, timeout=30)` で届くのを待ち、`subscriber.frame()` の DataFrame を `live` に入れてください。
#
# さらに、読み取り時刻 `timestamp` から受信時刻 `received_at` までの遅れの中央値をミリ秒で `median_latency_ms` に入れてください。

# %% kenshu="answer" grade_id="subscribe"
### BEGIN SOLUTION
with LiveSubscriber(broker_url, topic=LINE_FILTER) as subscriber:
    with serial_port:
        bridge.run(serial_port.readings(max_readings=N_MESSAGES))
    subscriber.wait_for(N_MESSAGES, timeout=30)
    live = subscriber.frame()
median_latency_ms = (live["received_at"] - live["timestamp"]).dt.total_seconds().median() * 1000
### END SOLUTION
print(live[["timestamp", "topic", "sequence", "current"]].head())
print(f"遅れの中央値: {median_latency_ms:.1f} ms、単位: {live.attrs['units']}")

# %% kenshu="test" grade_id="test_subscribe" points=3
assert len(live) >= N_MESSAGES, "N_MESSAGES 件以上を受け取る必要があります"
assert "current" in live.columns, "電流の列 current がありません"
assert live["message_id"].is_unique, "同じ message_id が 2 回入っています"
### BEGIN HIDDEN TESTS
assert live.attrs["units"]["current"] == "A", "単位はアンペアです"
assert 0 <= median_latency_ms < 2000, "遅れはミリ秒で、127.0.0.1 なら 2 秒未満のはずです"
assert live["sequence"].is_monotonic_increasing, "QoS 1 とスプールにより順番どおりに届くはずです"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 paho-mqtt 2.x で自分でも送る
#
# paho-mqtt 2.0 から、クライアントの作り方が変わりました（古い教材のコードは動きません）。
#
# ```python
# client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="...")
# ```
#
# クライアント ID はブローカーにつながっている間ずっと一意でなければなりません（同じ ID の接続が来ると、先の接続は切られます）。
# ここでは用意済みの `PUBLISHER_ID` を使ってください。
#
# `TRAINEE_DEVICE` の `note` センサーとして、`make_topic(TRAINEE_DEVICE, "note")` へ QoS 1 で 1 件送ってください。
# ペイロードはブリッジと同じ形の JSON にします（`message_id`, `source`, `device_id`, `sensor`, `sequence`, `timestamp`,
# `values` に `{"comment": {"value": 1, "unit": ""}}`）。
# ブローカーのホスト名とポートは `parse_broker_url(broker_url)` の `host` と `port` です。`publish` が返す `info` の `info.wait_for_publish(5)` で送信完了を待ちます。
# 購読側 `note_subscriber`（用意済み）に届いたペイロードの一覧が `note_subscriber.payloads` です。

# %% kenshu="readonly" grade_id="note_subscriber"
note_subscriber = LiveSubscriber(broker_url, topic=f"{SITE}/{LINE}/{TRAINEE_DEVICE}/#").start()

# %% kenshu="answer" grade_id="publish"
### BEGIN SOLUTION
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=PUBLISHER_ID)
address = parse_broker_url(broker_url)
client.connect(address.host, address.port)
client.loop_start()
payload = {
    "message_id": 1,
    "source": TRAINEE_DEVICE,
    "device_id": TRAINEE_DEVICE,
    "sensor": "note",
    "sequence": 0,
    "timestamp": "2026-06-04T00:00:00+00:00",
    "values": {"comment": {"value": 1, "unit": ""}},
}
info = client.publish(make_topic(TRAINEE_DEVICE, "note"), json.dumps(payload), qos=1)
info.wait_for_publish(5)
client.disconnect()
client.loop_stop()
### END SOLUTION
note_subscriber.wait_for(1, timeout=10)
print(note_subscriber.payloads)

# %% kenshu="test" grade_id="test_publish" points=3
assert note_subscriber.count == 1, "購読側に 1 件届く必要があります"
note = note_subscriber.payloads[0]
assert note["topic"] == make_topic(TRAINEE_DEVICE, "note"), "トピックが違います"
### BEGIN HIDDEN TESTS
assert note["values"]["comment"]["value"] == 1, "values の形はブリッジと同じにしてください"
assert note["sensor"] == "note", "sensor は note です"
### END HIDDEN TESTS

# %% [markdown] kenshu="written" grade_id="reflection" points=2
# ## 振り返り
#
# 自社の工場ネットワークで MQTT を使うなら、ブローカーをどこに置き、誰が読み書きできるようにしますか
# （ユーザー名とパスワード、TLS、ネットワークの範囲）。ブローカーが止まっている間の値をどう扱うかも含めて 2〜3 文で書いてください。

# %% kenshu="readonly" grade_id="cleanup"
note_subscriber.stop()
bridge.stop()
serial_port.close()
simulator.stop()
workdir.cleanup()
if embedded_broker is not None:
    embedded_broker.stop()
