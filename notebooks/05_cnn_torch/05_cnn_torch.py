# %% [markdown]
# # 05 torch で小さな CNN を学習する
#
# {{ company }} の課題：**{{ problem }}**
#
# 02 と 04 では、人が選んだ特徴量で分類しました。CNN（畳み込みニューラルネットワーク）は、
# 傷や穴に反応するフィルタそのものを画像から学習します。この回では torch で小さな CNN を作って
# 自社の画像（データ：{{ data_name }}）で学習させ、**学習曲線** から過学習を読み取り、**早期終了** で止めどころを決めます。
# 最後に、`kenshu inspect` が使う `fit_cnn` で同じことをして比べます。
#
# 進め方：
# 1. データ拡張（反転・回転）を書く
# 2. CNN を定義する
# 3. 学習ループを書く
# 4. 学習曲線から過学習を見つけ、早期終了の規則を書く
# 5. `kenshu.inspection.fit_cnn` で学習し、しきい値を決めてテスト用データで確かめる
#
# 解答欄の `raise NotImplementedError()` の行を消して、自分のコードを書いてください。
# 各問のすぐ下のセルがテストです。エラーが出なければ合格です。

# %% [markdown]
# ## パラメータ
#
# 次のセルは講師が設定します。変更しないでください。
# `MAX_IMAGES_PER_CLASS` は 1 クラスあたりの最大枚数、`N_EPOCHS` は自作の CNN の学習の回数（エポック数）、
# `PATIENCE` は早期終了で待つエポック数、`KENSHU_EPOCHS` は `fit_cnn` のエポック数です。

# %% tags=["parameters"] kenshu="readonly" grade_id="parameters"
COMPANY = "株式会社さくら精工"
DATA_DIR = "data/press_parts"
GOOD_CLASS = "良品"
RANDOM_STATE = 0
MAX_IMAGES_PER_CLASS = 120
IMAGE_SIZE = 64
N_EPOCHS = 25
PATIENCE = 5
KENSHU_EPOCHS = 12

# %% kenshu="readonly" grade_id="setup"
import copy

import numpy as np
import matplotlib.pyplot as plt
import torch
from torch import nn

from kenshu.datasets import load_image_folder, train_validation_test_split
from kenshu.inspection import choose_threshold, evaluate_scores, fit_cnn, score_images
from kenshu.plotting import use_japanese_font

use_japanese_font()
torch.manual_seed(RANDOM_STATE)
torch.set_num_threads(2)

data = load_image_folder(
    DATA_DIR,
    good_class=GOOD_CLASS,
    image_size=IMAGE_SIZE,
    max_per_class=MAX_IMAGES_PER_CLASS,
    random_state=RANDOM_STATE,
    write_card=False,
)
# The same stratified split as `kenshu inspect`: 60 % training, 20 % validation, 20 % test.
train_index, validation_index, test_index = train_validation_test_split(data.target, random_state=RANDOM_STATE)

if np.bincount(data.target[train_index], minlength=2).min() < 2:
    raise ValueError(
        f"学習用の画像が少なすぎます（良品 {np.sum(data.target[train_index] == 0)} 枚、不良品 {np.sum(data.target[train_index] == 1)} 枚）。"
        "良品・不良品とも 2 枚以上必要です。不良品の写真が少ないときは 06 の良品だけの方法を使います。講師に連絡してください。"
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
# 学習用の画像が数百枚しかないと、CNN は 1 枚 1 枚を丸暗記してしまいます（**過学習**）。
# 部品は裏返しても回しても良品は良品、傷は傷なので、学習のたびに画像をランダムに **左右反転・上下反転・90° 回転** させると、
# 同じ写真から「見え方の違う写真」を作れます。これをデータ拡張と呼びます。
#
# `augment(batch, generator)` を完成させてください。`batch` は `(枚数, 1, 高さ, 幅)` のテンソルです。
# 1 枚ごとに、確率 1/2 で左右反転（`torch.flip(image, dims=[2])`）、確率 1/2 で上下反転（`dims=[1]`）、
# 0〜3 回の 90° 回転（`torch.rot90(image, k, dims=[1, 2])`）を行い、同じ形のテンソルを返します。
# 乱数は `torch.randint(..., generator=generator)` のように `generator` から取ります（同じ種なら同じ結果になるように）。
#
# 自社の部品が向きで意味を持つ（上下が決まっている、刻印がある）なら、回転は使えません。振り返りで考えてください。

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
for column in range(min(6, len(X_train))):
    axes[0, column].imshow(X_train[column, 0], cmap="gray", vmin=0, vmax=1)
    axes[1, column].imshow(example[column, 0], cmap="gray", vmin=0, vmax=1)
for axis in axes.ravel():
    axis.axis("off")
axes[0, 0].set_title("元の画像", loc="left")
axes[1, 0].set_title("データ拡張した画像", loc="left")
plt.tight_layout()
plt.show()

# %% kenshu="mistake" answer="augment"
def augment(batch, generator):
    return batch + 0.05 * torch.randn(batch.shape, generator=generator)

# %% kenshu="test" grade_id="test_augment" points=2
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
# `SmallCNN` を完成させてください。
#
# `__init__` で、次の層をこの順に並べた `self.features` と、最後の `self.head` を作ります（`nn.Sequential` を使います）。
#
# 1. `nn.Conv2d(1, 8, kernel_size=3, padding=1)`、`nn.BatchNorm2d(8)`、`nn.ReLU()`、`nn.MaxPool2d(2)`
# 2. `nn.Conv2d(8, 16, kernel_size=3, padding=1)`、`nn.BatchNorm2d(16)`、`nn.ReLU()`、`nn.MaxPool2d(2)`
# 3. `nn.Conv2d(16, 32, kernel_size=3, padding=1)`、`nn.BatchNorm2d(32)`、`nn.ReLU()`、`nn.AdaptiveMaxPool2d(1)`、`nn.Flatten()`
# 4. `self.head = nn.Linear(32, 2)`（良品・不良品の 2 クラスのスコア）
#
# `forward` では、まず **画像ごとに明るさをそろえます**：`x` から 1 枚ごとの平均を引き、1 枚ごとの標準偏差 ＋ 0.001 で割ります
# （`x.mean(dim=(1, 2, 3), keepdim=True)`、`x.std(...)` も同じ）。照明が少し明るい日の写真でも同じ入力になります。
# そのあと `self.head(self.features(x))` を返します。
#
# - `BatchNorm2d` は層の出力の大きさをミニバッチごとにそろえ、小さなデータでも学習を安定させます。
# - 最後の `AdaptiveMaxPool2d(1)` は、フィルタの反応が画像の **どこか 1 か所** で強ければ大きな値を残します。
#   小さな傷がどこにあっても見つけられるように、平均ではなく最大値を取ります。

# %% kenshu="answer" grade_id="model"
class SmallCNN(nn.Module):
    """Three convolution blocks and a linear layer that scores good (0) and defect (1)."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(32, 2)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / (x.std(dim=(1, 2, 3), keepdim=True) + 0.001)
        return self.head(self.features(x))
        ### END SOLUTION


model = SmallCNN()
print(model)
print("パラメータの数:", sum(parameter.numel() for parameter in model.parameters()))

# %% kenshu="mistake" answer="model"
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        return self.head(self.features(x))


model = SmallCNN()

# %% kenshu="test" grade_id="test_model" points=2
torch.manual_seed(0)
_model = SmallCNN().eval()
_x = torch.rand(5, 1, 64, 64, generator=torch.Generator().manual_seed(5))
_scores = _model(_x)
assert _scores.shape == (5, 2), f"5 枚の画像に対する出力の形は (5, 2) のはずです。今は {tuple(_scores.shape)} です。"
### BEGIN HIDDEN TESTS
assert sum(isinstance(_layer, nn.Conv2d) for _layer in _model.modules()) == 3, "畳み込み層（nn.Conv2d）を 3 つ使ってください。"
assert sum(isinstance(_layer, nn.BatchNorm2d) for _layer in _model.modules()) == 3, "畳み込み層のあとに nn.BatchNorm2d を入れてください。"
assert _model(torch.rand(2, 1, 48, 48)).shape == (2, 2), "画像の大きさが変わっても動くように、最後に AdaptiveMaxPool2d(1) を入れてください。"
assert sum(parameter.numel() for parameter in _model.parameters()) == 6066, "層の数や大きさが指示と違います（パラメータの数は 6066 個になるはずです）。"
with torch.no_grad():
    assert torch.allclose(_model(_x), _model(0.5 * _x + 0.3), atol=0.02), "明るさとコントラストを変えた画像で出力が変わります。forward の最初で、画像ごとに平均を引き標準偏差で割ってください。"
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
# `train_one_epoch` を完成させてください。最初に `model.train()` を呼び、学習用データを `batch_size` 枚ずつのミニバッチに分け
# （順番は `torch.randperm(len(y), generator=generator)` で毎回シャッフル）、`use_augment` が真ならミニバッチに `augment` をかけてから
# 上の 4 行を行い、**1 枚あたりの平均の損失** を返します。
# `evaluate` は用意してあります（`model.eval()` と `torch.no_grad()` で、拡張なしで損失を計算します）。

# %% kenshu="answer" grade_id="train_loop"
def evaluate(model, X, y, loss_fn):
    """Return the mean loss of *model* on X, y without augmentation or weight updates."""
    model.eval()
    with torch.no_grad():
        return loss_fn(model(X), y).item()


def train_one_epoch(model, X, y, optimizer, loss_fn, generator, *, use_augment=True, batch_size=16):
    """Run one pass over X, y in shuffled mini-batches and return the mean training loss per image."""
    ### BEGIN SOLUTION
    model.train()
    order = torch.randperm(len(y), generator=generator)
    total_loss = 0.0
    for start in range(0, len(y), batch_size):
        batch = order[start : start + batch_size]
        x_batch = augment(X[batch], generator) if use_augment else X[batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x_batch), y[batch])
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch)
    return total_loss / len(y)
    ### END SOLUTION


print(f"学習前の検証用の損失：{evaluate(SmallCNN(), X_validation, y_validation, nn.CrossEntropyLoss()):.3f}（2 クラスを当てずっぽうにすると約 0.69）")

# %% kenshu="mistake" answer="train_loop"
def evaluate(model, X, y, loss_fn):
    model.eval()
    with torch.no_grad():
        return loss_fn(model(X), y).item()


def train_one_epoch(model, X, y, optimizer, loss_fn, generator, *, use_augment=True, batch_size=16):
    model.train()
    total_loss = 0.0
    for start in range(0, len(y), batch_size):
        loss = loss_fn(model(X[start : start + batch_size]), y[start : start + batch_size])
        loss.backward()
        total_loss += loss.item()
    return total_loss

# %% kenshu="test" grade_id="test_train_loop" points=3
# A tiny problem a working loop must learn: class 1 has a dark square somewhere on a noisy surface.
_generator = torch.Generator().manual_seed(0)
_X = 0.5 + 0.1 * torch.rand(32, 1, 16, 16, generator=_generator)
_y = torch.arange(32) % 2
for _index in range(1, 32, 2):
    _row, _column = (int(value) for value in torch.randint(0, 12, (2,), generator=_generator))
    _X[_index, 0, _row : _row + 4, _column : _column + 4] = 0.0
torch.manual_seed(0)
_model = SmallCNN()
_optimizer = torch.optim.Adam(_model.parameters(), lr=0.01)
_loss_fn = nn.CrossEntropyLoss()
_loss = train_one_epoch(_model, _X, _y, _optimizer, _loss_fn, _generator, use_augment=False, batch_size=8)
assert isinstance(_loss, float), "train_one_epoch は損失を float の数で返してください（loss.item() を使う）。"
assert np.isfinite(_loss), "train_one_epoch の返す損失が NaN か無限大です。"
### BEGIN HIDDEN TESTS
assert 0 < _loss < 5, f"返す損失は 1 枚あたりの平均にしてください（今は {_loss:.2f}）。合計ではありません。"
_before = evaluate(_model, _X, _y, _loss_fn)
_weights_before = [parameter.detach().clone() for parameter in _model.parameters()]
for _ in range(12):
    train_one_epoch(_model, _X, _y, _optimizer, _loss_fn, _generator, use_augment=True, batch_size=8)
assert any(not torch.equal(a, b) for a, b in zip(_weights_before, _model.parameters())), "学習しても重みが変わりません。optimizer.step() を呼んでいますか。"
assert evaluate(_model, _X, _y, _loss_fn) < 0.7 * _before, "「暗い四角があるか」だけの簡単な問題でも損失が下がりません。zero_grad・backward・step の順番を確認してください。"
_calls = []
_original_augment = augment


def augment(batch, generator):
    _calls.append(len(batch))
    return _original_augment(batch, generator)


try:
    train_one_epoch(SmallCNN(), _X, _y, torch.optim.Adam(SmallCNN().parameters()), _loss_fn, _generator, use_augment=True, batch_size=8)
    assert sum(_calls) == len(_y), "use_augment=True のときは、すべてのミニバッチに augment をかけてください。"
    _calls.clear()
    train_one_epoch(SmallCNN(), _X, _y, torch.optim.Adam(SmallCNN().parameters()), _loss_fn, _generator, use_augment=False, batch_size=8)
    assert not _calls, "use_augment=False のときは augment をかけないでください。"
finally:
    augment = _original_augment
### END HIDDEN TESTS

# %% [markdown]
# ## 学習曲線を見る（採点されません）
#
# 同じ CNN を 2 回、`N_EPOCHS` エポック学習させます。1 回目はデータ拡張なし、2 回目はデータ拡張ありです。
# エポックごとに学習用と検証用の損失を記録し、あとで使えるように重みも保存しておきます。
#
# 曲線の見方：
#
# - 学習用の損失も検証用の損失も下がっている間は、まだ学べることがあります。
# - 学習用の損失だけが下がり続け、**検証用の損失が下がらなくなる・上がり始めたら過学習** です。学習用の写真を丸暗記し始めています。
# - データ拡張があると、学習用の損失はゆっくり下がり、検証用との差（過学習）は小さくなることが多いです。

# %%
def train_with_history(use_augment):
    """Train a new SmallCNN for N_EPOCHS and return its losses per epoch and the weights after every epoch."""
    torch.manual_seed(RANDOM_STATE)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(RANDOM_STATE)
    history = {"train_loss": [], "validation_loss": [], "weights": []}
    for epoch in range(N_EPOCHS):
        history["train_loss"].append(train_one_epoch(model, X_train, y_train, optimizer, loss_fn, generator, use_augment=use_augment))
        history["validation_loss"].append(evaluate(model, X_validation, y_validation, loss_fn))
        history["weights"].append(copy.deepcopy(model.state_dict()))
    return model, history


# Each training run gets its own cell, so that no cell comes near the autograder's time limit per cell.
model_plain, history_plain = train_with_history(use_augment=False)

# %%
model, history = train_with_history(use_augment=True)

epochs = np.arange(1, N_EPOCHS + 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for axis, curves, title in [(axes[0], history_plain, "データ拡張なし"), (axes[1], history, "データ拡張あり")]:
    axis.plot(epochs, curves["train_loss"], marker="o", label="学習用")
    axis.plot(epochs, curves["validation_loss"], marker="o", label="検証用")
    axis.set_xlabel("エポック")
    axis.set_title(title)
    axis.legend()
    axis.grid(alpha=0.3)
axes[0].set_ylabel("損失（交差エントロピー）")
fig.suptitle(f"{COMPANY}：自作の CNN の学習曲線")
plt.tight_layout()
plt.show()
for name, curves in [("拡張なし", history_plain), ("拡張あり", history)]:
    print(f"{name}：最後の学習用の損失 {curves['train_loss'][-1]:.3f}、検証用の損失 {curves['validation_loss'][-1]:.3f}（最小 {min(curves['validation_loss']):.3f}）")

# %% [markdown]
# ## 問4 早期終了
#
# 過学習が始まったら、それ以上学習しても検証用の成績はよくなりません。そこで **早期終了** を使います：
# 検証用の損失がそれまでの最小を `patience` エポック続けて下回らなかったら学習を止め、検証用の損失が最小だったエポックの重みを使います。
#
# `stopping_epochs(validation_losses, patience)` を完成させてください。1 エポック目から順に損失を見て、
#
# - それまでの最小より **小さければ** 「最良のエポック」をそのエポックにし、待ち回数を 0 に戻す
# - そうでなければ待ち回数を 1 増やし、`patience` に達したらそのエポックで止める
#
# として、`(最良のエポック, 止めたエポック)` を返します。エポックは 1 から数えます。最後まで止まらなければ、止めたエポックは最後のエポックです。
# 例：損失 `[1.0, 0.8, 0.7, 0.75, 0.9, 0.6]`、`patience=2` なら、4・5 エポック目で 2 回続けて最小を下回らないので
# 5 エポック目で止まり、`(3, 5)` です（6 エポック目の 0.6 は学習を止めたので見られません）。
#
# そのあと、データ拡張ありの学習の検証用の損失 `history["validation_loss"]` と `PATIENCE` で `best_epoch, stop_epoch` を求めてください。
# 下のセルが、`best_epoch` の重みを `model` に読み込みます。

# %% kenshu="answer" grade_id="early_stopping"
def stopping_epochs(validation_losses, patience):
    """Return (best epoch, epoch at which training stops), both counted from 1, under early stopping with *patience*."""
    ### BEGIN SOLUTION
    best_loss = float("inf")
    best_epoch = 0
    waited = 0
    for epoch, loss in enumerate(validation_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return best_epoch, epoch
    return best_epoch, len(validation_losses)
    ### END SOLUTION


### BEGIN SOLUTION
best_epoch, stop_epoch = stopping_epochs(history["validation_loss"], PATIENCE)
### END SOLUTION
model.load_state_dict(history["weights"][best_epoch - 1])
print(f"早期終了（PATIENCE = {PATIENCE}）：{stop_epoch} エポック目で止まり、{best_epoch} エポック目の重みを使います（{N_EPOCHS} エポック中）。")

# %% kenshu="mistake" answer="early_stopping"
def stopping_epochs(validation_losses, patience):
    best = int(np.argmin(validation_losses))
    return best, len(validation_losses)


best_epoch, stop_epoch = stopping_epochs(history["validation_loss"], PATIENCE)
model.load_state_dict(history["weights"][best_epoch - 1])

# %% kenshu="test" grade_id="test_early_stopping" points=3
assert tuple(stopping_epochs([1.0, 0.8, 0.7, 0.75, 0.9, 0.6], 2)) == (3, 5), "例の損失と patience=2 では (3, 5) です。エポックは 1 から数えます。"
assert 1 <= best_epoch <= stop_epoch <= N_EPOCHS, "1 ≤ best_epoch ≤ stop_epoch ≤ N_EPOCHS のはずです。"
### BEGIN HIDDEN TESTS
assert tuple(stopping_epochs([1.0, 0.8, 0.7, 0.75, 0.9, 0.6], 3)) == (6, 6), "patience=3 なら 6 エポック目で最小を更新し、最後まで止まりません：(6, 6)。"
assert tuple(stopping_epochs([3.0, 2.0, 1.0], 1)) == (3, 3), "損失が下がり続けるなら、最良も止めたのも最後のエポックです。"
assert tuple(stopping_epochs([1.0, 1.0, 1.0], 2)) == (1, 3), "最小と同じ損失は「下回った」ことになりません（< で比べる）。"
assert tuple(stopping_epochs([0.5, 0.6, 0.7, 0.4], 1)) == (1, 2), "patience=1 なら、最小を下回らなかった最初のエポックで止まります。"
assert (best_epoch, stop_epoch) == tuple(stopping_epochs(history["validation_loss"], PATIENCE)), "best_epoch, stop_epoch は stopping_epochs(history['validation_loss'], PATIENCE) にしてください。"
assert history["validation_loss"][best_epoch - 1] == min(history["validation_loss"][:stop_epoch]), "best_epoch は、止めるまでで検証用の損失が最小のエポックです。"
### END HIDDEN TESTS

# %% [markdown]
# ## 自作の CNN のテスト用の成績（採点されません）
#
# 不良品らしさのスコアを `softmax` の 2 列目（不良品の確率）にし、しきい値を **検証用データ** で
# `kenshu` の `choose_threshold`（既定：検証用の不良品を 1 個も見逃さない中で過検出が最少）で決めて、テスト用データで確かめます。

# %%
def defect_probability(model, X):
    """Return the probability of 不良品 for each image in X, as a NumPy array."""
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(X), dim=1)[:, 1].numpy()


own_threshold = choose_threshold(defect_probability(model, X_validation), y_validation.numpy())
own_test = evaluate_scores(defect_probability(model, X_test), y_test.numpy(), own_threshold.threshold)
print(f"自作の CNN：しきい値 {own_threshold.threshold:.3f}、テスト用の ROC AUC {own_test.roc_auc:.3f}、見逃し率 {own_test.miss_rate:.3f}、過検出率 {own_test.false_alarm_rate:.3f}")

# %% [markdown]
# ## 問5 kenshu の fit_cnn で学習する
#
# `kenshu inspect` の CNN は、同じ考え方（画像ごとの明るさ合わせ、BatchNorm、最大値プーリング）をもう少し大きくしたものです。
# `fit_cnn` の中では、ここまで書いたことがすべて行われています：データ拡張（反転・回転に加えて明るさとコントラストの変化）、
# ミニバッチの学習ループ、エポックごとの検証用の損失の記録、検証用の成績がいちばんよかったエポックの重みを残すこと。
# 学習曲線が `KENSHU_EPOCHS` より短く終わっていたら、`fit_cnn` も早期終了で止まったということです（こちらは検証用の ROC AUC で判断します）。
#
# 1. `program = fit_cnn(train_images, train_labels, validation_images, validation_labels, epochs=KENSHU_EPOCHS, random_state=RANDOM_STATE)`
#    （画像は `data.images[train_index]` などの NumPy 配列、ラベルは `data.target[train_index]` など）
# 2. 検証用のスコア `score_images(program.scorer, 検証用の画像)` を `kenshu_validation_scores` に
# 3. `choose_threshold(kenshu_validation_scores, 検証用のラベル)` を `kenshu_threshold` に
# 4. テスト用のスコアを `kenshu_threshold.threshold` で判定した `evaluate_scores(...)` を `kenshu_test` に入れてください。

# %% kenshu="answer" grade_id="kenshu_cnn"
### BEGIN SOLUTION
program = fit_cnn(
    data.images[train_index],
    data.target[train_index],
    data.images[validation_index],
    data.target[validation_index],
    epochs=KENSHU_EPOCHS,
    random_state=RANDOM_STATE,
)
kenshu_validation_scores = score_images(program.scorer, data.images[validation_index])
kenshu_threshold = choose_threshold(kenshu_validation_scores, data.target[validation_index])
kenshu_test = evaluate_scores(score_images(program.scorer, data.images[test_index]), data.target[test_index], kenshu_threshold.threshold)
### END SOLUTION

kenshu_epochs = np.arange(1, len(program.history["train_loss"]) + 1)
plt.figure(figsize=(6, 4))
plt.plot(kenshu_epochs, program.history["train_loss"], marker="o", label="学習用")
plt.plot(kenshu_epochs, program.history["validation_loss"], marker="o", label="検証用")
if "best_epoch" in program.details:
    plt.axvline(program.details["best_epoch"], color="red", linestyle="--", label="残した重み")
plt.xlabel("エポック")
plt.ylabel("損失")
plt.title(f"{COMPANY}：fit_cnn の学習曲線")
plt.legend()
plt.grid(alpha=0.3)
plt.show()
for name, result in [("自作の CNN", own_test), ("fit_cnn", kenshu_test)]:
    print(f"{name}：テスト用の ROC AUC {result.roc_auc:.3f}、見逃し率 {result.miss_rate:.3f}、過検出率 {result.false_alarm_rate:.3f}")
print(f"fit_cnn のパラメータの数 {sum(parameter.numel() for parameter in program.scorer.parameters())}、学習 {len(kenshu_epochs)} エポック、{program.training_seconds:.0f} 秒")

# %% kenshu="mistake" answer="kenshu_cnn"
program = fit_cnn(data.images[train_index], data.target[train_index], data.images[validation_index], data.target[validation_index], epochs=KENSHU_EPOCHS, random_state=RANDOM_STATE)
kenshu_validation_scores = score_images(program.scorer, data.images[validation_index])
_test_scores = score_images(program.scorer, data.images[test_index])
kenshu_threshold = choose_threshold(_test_scores, data.target[test_index])
kenshu_test = evaluate_scores(_test_scores, data.target[test_index], kenshu_threshold.threshold)

# %% kenshu="test" grade_id="test_kenshu_cnn" points=3
assert program.kind == "cnn", "program は fit_cnn の戻り値にしてください。"
assert 1 <= len(program.history["train_loss"]) <= KENSHU_EPOCHS, "fit_cnn には epochs=KENSHU_EPOCHS を渡してください。"
assert kenshu_test.n_images == len(test_index), "kenshu_test はテスト用データで計算してください。"
### BEGIN HIDDEN TESTS
_validation_scores = score_images(program.scorer, data.images[validation_index])
assert np.allclose(kenshu_validation_scores, _validation_scores, atol=1e-6), "kenshu_validation_scores は score_images(program.scorer, data.images[validation_index]) にしてください。"
assert abs(kenshu_threshold.threshold - choose_threshold(_validation_scores, data.target[validation_index]).threshold) < 1e-9, "しきい値は検証用のスコアとラベルで決めてください。テスト用で決めると、テストの成績が甘くなります。"
_expected = evaluate_scores(score_images(program.scorer, data.images[test_index]), data.target[test_index], kenshu_threshold.threshold)
assert kenshu_test.confusion == _expected.confusion, "kenshu_test は、テスト用のスコアを kenshu_threshold.threshold で判定した evaluate_scores にしてください。"
### END HIDDEN TESTS

# %% [markdown]
# ## 振り返り（講師が採点します）
#
# 学習曲線とテストの結果を見て、{{ company }} のラインを念頭に 5〜10 行で答えてください。
#
# 1. データ拡張なしの学習で、過学習は起きましたか。学習曲線のどこからそう判断しましたか。データ拡張ありではどう変わりましたか。
# 2. 早期終了は何エポック目で止まりましたか。`PATIENCE` を 2 や 10 にすると何が変わると思いますか。
# 3. 自作の CNN と `fit_cnn` の見逃し率・過検出率はどうでしたか。04 の特徴量のモデルと比べてどうでしたか。
# 4. 自社の部品で、反転や 90° 回転のデータ拡張を使ってよいですか（向きに意味がある部品か）。写真を増やすなら、何枚・どんな条件で集めたいですか。

# %% [markdown] kenshu="written" grade_id="reflection" points=4
# （解答例）データ拡張なしでは、学習用の損失は 0.02 まで下がり続けましたが、検証用の損失は 18 エポックあたりで最小になり、そのあと上下しながら上がりました。ここから過学習です。
# データ拡張ありでは学習用の損失が 0.35 ほどで止まり、検証用との差が小さくなりました。
# 早期終了は 23 エポック目で止まり、18 エポック目の重みを使いました。PATIENCE を 2 にすると損失の小さな揺れで早く止まりすぎ、10 にすると過学習した分まで学習します。
# 自作の CNN の見逃し率は 0.1、fit_cnn は 0.05 で、04 の特徴量ベースラインとほぼ同じでした。CNN はパラメータが多く、写真がもっと多いときに差が出ると考えます。
# 自社のタイルは向きに意味がないので反転・回転は使えます。割れの写真が少ないので、割れを 100 枚以上、照明を本番と同じにして集めたいです。
