# %% [markdown]
# # 05 torch で小さな CNN を学習する
#
# {{ company }} の課題：**{{ problem }}**
#
# 02 では人が選んだ特徴量で分類しました。CNN（畳み込みニューラルネットワーク）は、
# 傷や打痕に反応するフィルタそのものを画像から学習します。この回では torch で小さな CNN を作り、
# 自社の画像（データ：{{ data_name }}）で学習させて、**学習曲線** から過学習を読み取ります。
#
# 進め方：
# 1. 画像を学習用・検証用・テスト用に分ける（用意済み）
# 2. データ拡張（反転・回転）を書く
# 3. CNN を定義する
# 4. 学習ループを書き、学習用と検証用の損失を記録する
# 5. テスト用データで見逃し率を測る
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `MAX_IMAGES_PER_CLASS` は 1 クラスあたりの最大枚数、`N_EPOCHS` は学習の回数（エポック数）です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 150
N_EPOCHS = 30

# %% kenshu="readonly" grade_id="setup"
import numpy as np
import matplotlib.pyplot as plt
import torch
from torch import nn

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.plotting import use_japanese_font

use_japanese_font()
torch.manual_seed(RANDOM_STATE)
torch.set_num_threads(2)

data = load_image_folder(
    DATA_DIR, good_class=GOOD_CLASS, image_size=64, max_per_class=MAX_IMAGES_PER_CLASS, random_state=RANDOM_STATE
)
train_index, validation_index, test_index = train_validation_test_split(
    data.target, validation_size=0.2, test_size=0.2, random_state=RANDOM_STATE
)

# Tensors in the layout torch expects: (images, channels, height, width).
images = torch.from_numpy(data.images).unsqueeze(1)
labels = torch.from_numpy(data.target).long()
X_train, y_train = images[train_index], labels[train_index]
X_validation, y_validation = images[validation_index], labels[validation_index]
X_test, y_test = images[test_index], labels[test_index]
print(f"{COMPANY}：学習用 {len(y_train)} 枚、検証用 {len(y_validation)} 枚、テスト用 {len(y_test)} 枚（画像 {tuple(images.shape[1:])}）")

# %% [markdown]
# ## 問1 データ拡張
#
# 学習用の画像が数百枚しかないと、CNN は 1 枚 1 枚を丸暗記してしまいます（過学習）。
# 部品は裏返しても回しても良品は良品、傷は傷なので、学習のたびに画像をランダムに **左右反転・上下反転・90° 回転** させると、
# 同じ写真から「見え方の違う新しい写真」を作れます。これをデータ拡張と呼びます。
#
# `augment(batch, generator)` を完成させてください。`batch` は `(枚数, 1, 高さ, 幅)` のテンソルです。
# 1 枚ごとに、確率 1/2 で左右反転（`torch.flip(image, dims=[2])`）、確率 1/2 で上下反転（`dims=[1]`）、
# 0〜3 回の 90° 回転（`torch.rot90(image, k, dims=[1, 2])`）を行い、同じ形のテンソルを返します。
# 乱数は `torch.randint(..., generator=generator)` のように `generator` から取ります（同じ種なら同じ結果になるように）。

# %% kenshu="answer" grade_id="augment"
def augment(batch, generator):
    """Return a copy of *batch* with each image randomly flipped and rotated by a multiple of 90 degrees."""
    ### BEGIN SOLUTION
    augmented = []
    for image in batch:
        if torch.randint(0, 2, (1,), generator=generator).item():
            image = torch.flip(image, dims=[2])
        if torch.randint(0, 2, (1,), generator=generator).item():
            image = torch.flip(image, dims=[1])
        quarter_turns = int(torch.randint(0, 4, (1,), generator=generator).item())
        image = torch.rot90(image, quarter_turns, dims=[1, 2])
        augmented.append(image)
    return torch.stack(augmented)
    ### END SOLUTION


example = augment(X_train[:6], torch.Generator().manual_seed(RANDOM_STATE))
fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for column in range(6):
    axes[0, column].imshow(X_train[column, 0], cmap="gray", vmin=0, vmax=1)
    axes[1, column].imshow(example[column, 0], cmap="gray", vmin=0, vmax=1)
    axes[0, column].axis("off")
    axes[1, column].axis("off")
axes[0, 0].set_title("元の画像", loc="left")
axes[1, 0].set_title("データ拡張した画像", loc="left")
plt.tight_layout()
plt.show()

# %% kenshu="mistake" answer="augment"
def augment(batch, generator):
    return batch + 0.05 * torch.randn(batch.shape, generator=generator)

# %% kenshu="test" grade_id="test_augment" points=3
_batch = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1))
_out = augment(_batch, torch.Generator().manual_seed(2))
assert isinstance(_out, torch.Tensor), "augment はテンソルを返してください（torch.stack）。"
assert _out.shape == _batch.shape, f"augment の出力の形 {tuple(_out.shape)} が入力 {tuple(_batch.shape)} と違います。"
### BEGIN HIDDEN TESTS
def _variants(image):
    result = []
    for flipped in (image, torch.flip(image, dims=[2])):
        for k in range(4):
            result.append(torch.rot90(flipped, k, dims=[1, 2]))
    return result


for _index in range(len(_batch)):
    assert any(torch.equal(_out[_index], _variant) for _variant in _variants(_batch[_index])), "拡張した画像が、元の画像の反転・90° 回転のどれにもなっていません。画素の値は変えないでください。"
_again = augment(_batch, torch.Generator().manual_seed(2))
assert torch.equal(_out, _again), "同じ種の generator なら同じ結果になるようにしてください（乱数は generator から取る）。"
_many = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(3))
_changed = sum(not torch.equal(a, b) for a, b in zip(augment(_many, torch.Generator().manual_seed(4)), _many))
assert _changed >= 32, "ほとんどの画像が元のままです。反転と回転をランダムに行ってください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問2 CNN を定義する
#
# 次の層をこの順に並べた `SmallCNN` を完成させてください（`nn.Sequential` を使うと簡単です）。
#
# 1. `nn.Conv2d(1, 8, kernel_size=3, padding=1)`、`nn.ReLU()`、`nn.MaxPool2d(2)`
# 2. `nn.Conv2d(8, 16, kernel_size=3, padding=1)`、`nn.ReLU()`、`nn.MaxPool2d(2)`
# 3. `nn.Conv2d(16, 32, kernel_size=3, padding=1)`、`nn.ReLU()`、`nn.AdaptiveMaxPool2d(1)`、`nn.Flatten()`
# 4. `nn.Linear(32, 2)`（良品・不良品の 2 クラスのスコア）
#
# 最後の `AdaptiveMaxPool2d(1)` は、フィルタの反応が画像の **どこか 1 か所** で強ければ大きな値を残します。
# 小さな傷がどこにあっても見つけられるように、平均ではなく最大値を取ります。

# %% kenshu="answer" grade_id="model"
class SmallCNN(nn.Module):
    """Three convolution blocks and a linear layer that scores good (0) and defect (1)."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.layers = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 2),
        )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.layers(x)
        ### END SOLUTION


model = SmallCNN()
print(model)
print("パラメータの数:", sum(parameter.numel() for parameter in model.parameters()))

# %% kenshu="mistake" answer="model"
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64, 2))

    def forward(self, x):
        return self.layers(x)


model = SmallCNN()

# %% kenshu="test" grade_id="test_model" points=2
_model = SmallCNN()
_scores = _model(torch.rand(5, 1, 64, 64))
assert _scores.shape == (5, 2), f"5 枚の画像に対する出力の形は (5, 2) のはずです。今は {tuple(_scores.shape)} です。"
### BEGIN HIDDEN TESTS
assert sum(isinstance(_layer, nn.Conv2d) for _layer in _model.modules()) == 3, "畳み込み層（nn.Conv2d）を 3 つ使ってください。"
assert _model(torch.rand(2, 1, 48, 48)).shape == (2, 2), "画像の大きさが変わっても動くように、最後に AdaptiveMaxPool2d(1) を入れてください。"
assert sum(parameter.numel() for parameter in _model.parameters()) == 5954, "層の数や大きさが指示と違います（パラメータの数は 5954 個になるはずです）。"
### END HIDDEN TESTS

# %% [markdown]
# ## 問3 学習ループ
#
# torch の学習は、次の 4 行をミニバッチごとにくり返すのが基本です。
#
# ```
# optimizer.zero_grad()            # 前の勾配を消す
# loss = loss_fn(model(x), y)      # 予測して損失を計算
# loss.backward()                  # 勾配を計算
# optimizer.step()                 # 重みを更新
# ```
#
# `train_one_epoch` を完成させてください。学習用データを `batch_size` 枚ずつのミニバッチに分け（順番は `generator` で毎回シャッフル）、
# ミニバッチに `augment` をかけてから上の 4 行を行い、**1 枚あたりの平均の損失** を返します。
# 最初に `model.train()` を呼びます。`evaluate` は用意してあります（`model.eval()` と `torch.no_grad()` で、拡張なしで損失と正解率を計算）。

# %% kenshu="answer" grade_id="train_loop"
def evaluate(model, X, y, loss_fn):
    """Return (mean loss, accuracy) of *model* on X, y without augmentation or weight updates."""
    model.eval()
    with torch.no_grad():
        scores = model(X)
        return loss_fn(scores, y).item(), (scores.argmax(dim=1) == y).float().mean().item()


def train_one_epoch(model, X, y, optimizer, loss_fn, generator, batch_size=16):
    """Run one pass over X, y in shuffled augmented mini-batches and return the mean training loss per image."""
    ### BEGIN SOLUTION
    model.train()
    order = torch.randperm(len(y), generator=generator)
    total_loss = 0.0
    for start in range(0, len(y), batch_size):
        batch = order[start : start + batch_size]
        x_batch = augment(X[batch], generator)
        optimizer.zero_grad()
        loss = loss_fn(model(x_batch), y[batch])
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch)
    return total_loss / len(y)
    ### END SOLUTION


torch.manual_seed(RANDOM_STATE)
model = SmallCNN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
loss_fn = nn.CrossEntropyLoss()
generator = torch.Generator().manual_seed(RANDOM_STATE)
history = {"train_loss": [], "validation_loss": [], "validation_accuracy": []}
for epoch in range(N_EPOCHS):
    history["train_loss"].append(train_one_epoch(model, X_train, y_train, optimizer, loss_fn, generator))
    validation_loss, validation_accuracy = evaluate(model, X_validation, y_validation, loss_fn)
    history["validation_loss"].append(validation_loss)
    history["validation_accuracy"].append(validation_accuracy)
print(f"最後のエポック：学習用の損失 {history['train_loss'][-1]:.3f}、検証用の損失 {history['validation_loss'][-1]:.3f}、検証用の正解率 {history['validation_accuracy'][-1]:.3f}")

# %% kenshu="mistake" answer="train_loop"
def evaluate(model, X, y, loss_fn):
    model.eval()
    with torch.no_grad():
        scores = model(X)
        return loss_fn(scores, y).item(), (scores.argmax(dim=1) == y).float().mean().item()


def train_one_epoch(model, X, y, optimizer, loss_fn, generator, batch_size=16):
    model.train()
    total_loss = 0.0
    for start in range(0, len(y), batch_size):
        loss = loss_fn(model(X[start : start + batch_size]), y[start : start + batch_size])
        loss.backward()
        total_loss += loss.item()
    return total_loss


model = SmallCNN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
loss_fn = nn.CrossEntropyLoss()
generator = torch.Generator().manual_seed(RANDOM_STATE)
history = {"train_loss": [], "validation_loss": [], "validation_accuracy": []}
for epoch in range(N_EPOCHS):
    history["train_loss"].append(train_one_epoch(model, X_train, y_train, optimizer, loss_fn, generator))
    validation_loss, validation_accuracy = evaluate(model, X_validation, y_validation, loss_fn)
    history["validation_loss"].append(validation_loss)
    history["validation_accuracy"].append(validation_accuracy)

# %% kenshu="test" grade_id="test_train_loop" points=3
assert len(history["train_loss"]) == N_EPOCHS, "history['train_loss'] にはエポックごとに 1 つずつ損失を記録してください。"
assert all(np.isfinite(history["train_loss"])), "学習用の損失に NaN か無限大があります。"
### BEGIN HIDDEN TESTS
# A tiny problem a working loop must learn: bright images are class 1, dark ones class 0.
_generator = torch.Generator().manual_seed(0)
torch.manual_seed(0)
_X = torch.rand(32, 1, 16, 16, generator=_generator) * 0.5
_y = torch.arange(32) % 2
_X[_y == 1] += 0.5
_model = SmallCNN()
_optimizer = torch.optim.Adam(_model.parameters(), lr=0.01)
_loss_fn = nn.CrossEntropyLoss()
_before = evaluate(_model, _X, _y, _loss_fn)[0]
_weights_before = [parameter.detach().clone() for parameter in _model.parameters()]
_losses = [train_one_epoch(_model, _X, _y, _optimizer, _loss_fn, _generator, batch_size=8) for _ in range(15)]
assert any(not torch.equal(a, b) for a, b in zip(_weights_before, _model.parameters())), "学習しても重みが変わりません。optimizer.step() を呼んでいますか。"
assert evaluate(_model, _X, _y, _loss_fn)[0] < _before * 0.7, "明るい画像と暗い画像を分けるだけの問題でも損失が下がりません。zero_grad・backward・step の順番を確認してください。"
assert 0 < _losses[0] < 5, f"返す損失は 1 枚あたりの平均にしてください（今は {_losses[0]:.2f}）。合計ではありません。"
### END HIDDEN TESTS

# %% [markdown]
# ## 学習曲線を読む
#
# 次のグラフの見方：
#
# - 学習用の損失も検証用の損失も下がっている間は、まだ学べることがあります。
# - 学習用の損失だけが下がり続け、**検証用の損失が上がり始めたら過学習** です。モデルが学習用の写真を丸暗記し始めています。
# - データ拡張をやめる（`augment` を素通しにする）と、過学習が早く始まることが多いです。時間があれば試してみましょう。

# %%
epochs = np.arange(1, N_EPOCHS + 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(epochs, history["train_loss"], marker="o", label="学習用")
axes[0].plot(epochs, history["validation_loss"], marker="o", label="検証用")
axes[0].set_xlabel("エポック")
axes[0].set_ylabel("損失（交差エントロピー）")
axes[0].set_title("損失")
axes[0].legend()
axes[1].plot(epochs, history["validation_accuracy"], marker="o", color="green")
axes[1].set_xlabel("エポック")
axes[1].set_ylabel("正解率")
axes[1].set_ylim(0, 1.05)
axes[1].set_title("検証用の正解率")
fig.suptitle(f"{COMPANY}：CNN の学習曲線")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 問4 テスト用データで見逃し率を測る
#
# 学習が終わったモデルで、テスト用データの **不良品である確率** を `defect_probability` に（`torch.softmax(scores, dim=1)[:, 1]`）、
# 確率が 0.5 以上なら 1（不良品）とした判定を `y_pred` に入れ、見逃し率（不良品のうち良品と判定した割合）を `test_miss_rate` に入れてください。
# 予測の前に `model.eval()` を呼び、`torch.no_grad()` の中で計算します。

# %% kenshu="answer" grade_id="test_miss_rate"
### BEGIN SOLUTION
model.eval()
with torch.no_grad():
    defect_probability = torch.softmax(model(X_test), dim=1)[:, 1]
y_pred = (defect_probability >= 0.5).long()
test_miss_rate = float(((y_pred == 0) & (y_test == 1)).sum() / (y_test == 1).sum())
### END SOLUTION
print(f"テスト用の正解率 {(y_pred == y_test).float().mean().item():.3f}、見逃し率 {test_miss_rate:.3f}（不良品 {int((y_test == 1).sum())} 枚）")

# %% kenshu="mistake" answer="test_miss_rate"
with torch.no_grad():
    defect_probability = torch.softmax(model(X_test), dim=1)[:, 0]
y_pred = (defect_probability >= 0.5).long()
test_miss_rate = float(((y_pred == 0) & (y_test == 1)).float().mean())

# %% kenshu="test" grade_id="test_test_miss_rate" points=2
assert defect_probability.shape == (len(y_test),), "defect_probability はテスト用の画像 1 枚につき 1 つの確率にしてください。"
assert 0.0 <= test_miss_rate <= 1.0, "見逃し率は 0〜1 の割合です。"
### BEGIN HIDDEN TESTS
model.eval()
with torch.no_grad():
    _probability = torch.softmax(model(X_test), dim=1)[:, 1]
assert torch.allclose(defect_probability, _probability, atol=1e-5), "defect_probability は softmax の 2 列目（不良品、[:, 1]）にしてください。"
assert torch.equal(y_pred.long(), (_probability >= 0.5).long()), "y_pred は確率が 0.5 以上なら 1、それ以外は 0 です。"
_missed = int(((y_pred == 0) & (y_test == 1)).sum())
assert abs(test_miss_rate - _missed / int((y_test == 1).sum())) < 1e-9, "見逃し率の分母は「テスト用の不良品の数」です。"
### END HIDDEN TESTS

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# 学習曲線とテストの結果を見て、{{ company }} のラインを念頭に 5〜10 行で答えてください。
#
# 1. 過学習は起きましたか。学習曲線のどこからそう判断しましたか。
# 2. 02 の特徴量＋ロジスティック回帰と比べて、CNN の見逃し率はどうでしたか。差が出た理由を考えてください。
# 3. 自社で CNN を使うなら、写真を何枚・どんな条件で集めたいですか（照明、向き、不良の種類ごとの枚数など）。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）学習用の損失は最後まで下がりましたが、検証用の損失は 20 エポックあたりから横ばいになり、少し上がりました。
# ここから先は学習用の写真を覚えているだけなので、学習は 20 エポック程度で止めるのがよいと考えます。
# CNN は小さな傷の形そのものを学べるので、02 の方法より見逃しが減りました。
# 自社では不良の種類ごとに最低 50 枚、照明と置き方を本番のラインと同じにして撮りたいです。
