"""lr_schedule="plateau" and lr_warmup from Python (1.8): the ctypes struct
carries the appended fields in the C order, Net.fit's lr per epoch is
torch's ReduceLROnPlateau fed the same losses (after LinearLR's warmup),
the sklearn estimators take the settings (get_params lists them), and bad
settings raise naming them."""
import ctypes

import numpy as np
import pytest

import lamina
from lamina import _lib as L
from lamina.errors import InvalidArgumentError
from lamina.sklearn import LaminaClassifier, LaminaRegressor


def test_struct_has_the_plateau_fields_in_c_order():
    # the defaults come from the C library (lm_fit_opts_init): a field out
    # of order or missing reads another field's value
    o = L.lm_fit_opts()
    L.check(L.fit_opts_init(ctypes.byref(o), ctypes.sizeof(o)))
    assert (o.lr_factor, o.lr_patience, o.lr_threshold) == (np.float32(0.1), 10, np.float32(1e-4))
    assert (o.lr_cooldown, o.lr_warmup, o.n_class_weights) == (0, 0, 0)
    assert L.lr_schedule_from_name(b"plateau") == 3


def data(n=120):
    rs = np.random.RandomState(0)
    X = rs.randn(n, 4).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int32)


def small_net():
    return lamina.Net(inputs=4, layers=[lamina.Dense(8, "tanh"), lamina.Dense(2, "softmax")],
                      seed=1)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: a scheduler stepped alone
@pytest.mark.parametrize("val", [False, True])
def test_fit_follows_torch_reduce_on_plateau(val):
    torch = pytest.importorskip("torch")
    X, y = data()
    kw = dict(validation_data=(X[:30], y[:30])) if val else {}
    # SGD at lr 3 overshoots: losses rise now and then, so patience 0 cuts
    h = small_net().fit(X, y, epochs=12, optimizer="sgd", lr=3.0, batch_size=8,
                        lr_schedule="plateau", lr_factor=0.5, lr_patience=0, lr_cooldown=1,
                        lr_threshold=0.01, lr_min=0.2, lr_warmup=2, **kw)
    losses = h["val_loss"] if val else h["loss"]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3.0)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 3, total_iters=2)
    want = []
    for e, loss in enumerate(losses):
        want.append(opt.param_groups[0]["lr"])
        if e < 2:
            warm.step()
            if e == 1:
                opt.param_groups[0]["lr"] = 3.0  # the warmup's end, not an ulp off
                sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                    opt, factor=float(np.float32(0.5)), patience=0, cooldown=1,
                    threshold=float(np.float32(0.01)), min_lr=float(np.float32(0.2)))
        else:
            sched.step(loss)
    np.testing.assert_allclose(h["lr"], want, rtol=1e-7)
    assert len(set(h["lr"][2:])) >= 3, h["lr"]  # two cuts at least


def test_fit_warmup_then_step():
    X, y = data()
    h = small_net().fit(X, y, epochs=8, lr=0.02, lr_schedule="step", lr_warmup=3)
    np.testing.assert_allclose(h["lr"], [0.005, 0.01, 0.015] + [0.02] * 5, rtol=1e-7)


@pytest.mark.parametrize("kw, says", [
    (dict(lr_factor=0.5), r"lr_factor is for lr_schedule='plateau' \(this fit uses 'constant'\)"),
    (dict(lr_schedule="step", lr_patience=3), "lr_patience is for lr_schedule='plateau'"),
    (dict(lr_schedule="step", lr_min=0.1), "lr_min is for lr_schedule='plateau' or 'cosine'"),
    (dict(lr_schedule="plateau", lr_factor=1.0), r"lr_factor 1 must be in \(0, 1\)"),
    (dict(lr_schedule="plateau", lr_threshold=-1), "lr_threshold -1 must be in"),
    (dict(lr_schedule="plateau", lr_cooldown=-1), "lr_cooldown -1 must not be negative"),
    (dict(lr_warmup=-2), "lr_warmup -2 epochs must not be negative"),
    (dict(lr_schedule="plateau", optimizer="rprop"), r"schedule \(plateau\) would not"),
    (dict(lr_schedule="warm"), "plateau"),
])
def test_fit_refuses_bad_settings(kw, says):
    X, y = data(20)
    with pytest.raises(InvalidArgumentError, match=says):
        small_net().fit(X, y, epochs=2, **kw)


def test_estimators_take_the_schedule():
    for cls in (LaminaClassifier, LaminaRegressor):
        p = cls().get_params()
        assert (p["lr_schedule"], p["lr_warmup"], p["lr_factor"], p["lr_patience"]) == \
            ("constant", 0, 0.1, 10)
    X, y = data()
    est = LaminaClassifier(hidden_layer_sizes=(8,), optimizer="sgd", lr=3.0, batch_size=8,
                           epochs=10, early_stopping=20, lr_schedule="plateau", lr_factor=0.5,
                           lr_patience=0, lr_warmup=1, random_state=0)
    est.fit(X, y)
    lr = est.history_["lr"]
    assert lr[0] == 1.5 and lr[1] == 3.0 and min(lr) < 3.0, lr
    # the same settings from a clone
    from sklearn.base import clone
    c = clone(est)
    assert c.get_params()["lr_schedule"] == "plateau" and c.get_params()["lr_warmup"] == 1
    # partial_fit cannot follow a schedule across its one-epoch calls
    with pytest.raises(ValueError, match="partial_fit trains one epoch a call"):
        LaminaRegressor(lr_warmup=2, epochs=2).partial_fit(X, y.astype(np.float32))


@pytest.mark.parametrize("param, bad", [
    ("lr_schedule", "warm"), ("lr_schedule", None), ("lr_warmup", -1), ("lr_warmup", 1.5),
    ("lr_factor", 1.0), ("lr_factor", 0), ("lr_factor", "0.5"), ("lr_patience", -1),
])
def test_estimators_refuse_bad_settings_by_name(param, bad):
    X, y = data(30)
    for cls in (LaminaClassifier, LaminaRegressor):
        est = cls(epochs=2, random_state=0, **{param: bad})
        with pytest.raises(ValueError, match="The '%s' parameter of %s must be" % (param, cls.__name__)):
            est.fit(X, y)
        assert not hasattr(est, "net_")
