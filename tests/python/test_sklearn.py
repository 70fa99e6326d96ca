"""lamina.sklearn: scikit-learn's conventions, pipelines, search, pickling."""
import pickle
import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from lamina.sklearn import LaminaClassifier, LaminaRegressor  # noqa: E402

from conftest import iris  # noqa: E402


def test_check_estimator_passes():
    from sklearn.utils.estimator_checks import check_estimator
    warnings.simplefilter("ignore")
    for est in (LaminaClassifier(epochs=30, random_state=0),
                LaminaRegressor(epochs=30, random_state=0)):
        ran = 0
        for e, check in check_estimator(est, generate_only=True):
            check(e)
            ran += 1
        assert ran > 30


def test_subset_invariance_exact():
    # a row's prediction depends on that row alone (tests/test_rows.c):
    # alone, in parts or all together, the same bits
    X, names = iris()
    for est in (LaminaRegressor(epochs=5, random_state=0).fit(X, X[:, 0]),
                LaminaRegressor(hidden_layer_sizes=(8,), epochs=5, random_state=0).fit(X, X[:, 0])):
        whole = est.predict(X)
        parts = np.concatenate([est.predict(X[i:i + 7]) for i in range(0, len(X), 7)])
        ones = np.concatenate([est.predict(X[i:i + 1]) for i in range(len(X))])
        np.testing.assert_array_equal(parts, whole)
        np.testing.assert_array_equal(ones, whole)


def test_string_labels_params_pickle_and_clone():
    X, names = iris()
    est = LaminaClassifier(hidden_layer_sizes=(16,), epochs=60, random_state=0)
    assert est.get_params()["hidden_layer_sizes"] == (16,)
    assert est.fit(X, names) is est
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    assert est.n_features_in_ == 4 and est.score(X, names) > 0.9
    p = est.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    assert set(est.predict(X)) <= set(names)
    assert est.net_.class_names == list(est.classes_)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X), p)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "net_")
    est.set_params(lr=0.01)
    assert est.lr == 0.01


def test_any_str_label_fits_predicts_and_pickles():
    # a label holding a NUL (or a lone surrogate) cannot be a C string: fit
    # raised "class name 'a\x00b' holds a NUL character"; classes_ holds the
    # labels in Python, the net's model file then names no classes
    X, names = iris()
    for odd in ("a\0b", "\ud800"):
        y = np.where(names == "setosa", odd, names).astype(object)
        est = LaminaClassifier(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X, y)
        assert odd in list(est.classes_) and set(est.predict(X)) <= set(y)
        assert est.score(X, y) > 0.8 and est.net_.class_names is None
        back = pickle.loads(pickle.dumps(est))
        assert list(back.classes_) == list(est.classes_)
        np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_feature_names_from_pandas():
    pd = pytest.importorskip("pandas")
    X, names = iris()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = LaminaClassifier(epochs=5, random_state=0).fit(df, names)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    est.predict(df)


def test_frame_fitted_model_predicts_by_column_name_in_the_cli(cli, tmp_path):
    # fitted on a frame, the net records its column names as `lamina train`
    # does (metadata "features"), so `lamina predict` takes a CSV file's
    # columns by header name: it took them by position, and a file with its
    # columns in another order predicted silently wrong
    import subprocess
    pd = pytest.importorskip("pandas")
    rs = np.random.RandomState(0)
    X = rs.randn(60, 3) * [1, 10, 100] + [0, 5, -50]
    cols = ["a", "b, c", '"q"']
    df = pd.DataFrame(X, columns=cols)
    shuffled = df[['"q"', "a", "b, c"]].assign(id=np.arange(60))
    shuffled.to_csv(tmp_path / "x.csv", index=False)
    y = (X[:, 0] + X[:, 1] / 10 > 0.5).astype(int)
    for est, t in ((LaminaClassifier(epochs=30, random_state=0), y),
                   (LaminaRegressor(epochs=30, random_state=0), X[:, 0] * 3 + X[:, 2] / 50)):
        est.fit(df, t)
        assert est.net_.get_meta("features") == 'a,"b, c","""q"""'
        est.net_.save(str(tmp_path / "m.lmn"))
        out = subprocess.run([cli, "predict", str(tmp_path / "m.lmn"), "--data",
                              str(tmp_path / "x.csv")], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        got = np.array(out.stdout.split(), dtype=np.float64)
        np.testing.assert_allclose(got, est.predict(df), rtol=1e-4, atol=1e-4)
    # a plain array has no names: none recorded, the columns by position
    est = LaminaClassifier(epochs=2, random_state=0).fit(X, y)
    assert est.net_.get_meta("features") is None


def test_pipeline_grid_search_and_cross_val():
    X, names = iris()
    pipe = make_pipeline(StandardScaler(), LaminaClassifier(epochs=40, random_state=0,
                                                            standardize=False))
    scores = cross_val_score(pipe, X, names, cv=3)
    assert scores.mean() > 0.8
    grid = GridSearchCV(LaminaClassifier(epochs=40, random_state=0),
                        {"hidden_layer_sizes": [(4,), (16,)], "lr": [0.001, 0.01]}, cv=3)
    grid.fit(X, names)
    assert grid.best_score_ > 0.8 and set(grid.best_params_) == {"hidden_layer_sizes", "lr"}


def test_partial_fit_continues():
    X, names = iris()
    est = LaminaClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, names)
    est.partial_fit(X, names, classes=np.unique(names))
    first = est.loss_curve_[-1]
    for _ in range(20):
        est.partial_fit(X, names)
    assert est.n_iter_ == 21 and est.loss_curve_[-1] < first


def test_partial_fit_trains_on_every_row():
    # partial_fit with early_stopping (the regressor's default) held out
    # validation_fraction of the rows from each one-epoch call, the same
    # rows every call for a fixed random_state, so they were never trained
    # on; scikit-learn's MLPs turn early stopping off in partial_fit.
    X, y = datasets.make_classification(n_samples=60, random_state=0)
    for make in (lambda es: LaminaClassifier(early_stopping=es, random_state=0),
                 lambda es: LaminaRegressor(early_stopping=es, random_state=0)):
        a, b = make(10), make(0)
        for _ in range(3):
            a.partial_fit(X, y, **({"classes": [0, 1]} if hasattr(a, "predict_proba") else {}))
            b.partial_fit(X, y, **({"classes": [0, 1]} if hasattr(b, "predict_proba") else {}))
        np.testing.assert_array_equal(a.net_.params, b.net_.params)
        assert a.n_iter_ == 3
    # fit still holds the rows out and stops early
    est = LaminaRegressor(early_stopping=2, epochs=400, random_state=0).fit(X, y)
    assert est.n_iter_ < 400


def test_a_refused_fit_leaves_the_estimator_as_it_was():
    # fit dropped the fitted net before it checked the data: a refit
    # refused for a NaN or a single class left a NotFittedError where the
    # trained model had been (MLPClassifier keeps it). And a first fit
    # refused after the net was built (validation_fraction; a class name
    # with a NUL was one, until such labels were taken) left that untrained
    # net, which predict used silently.
    from sklearn.exceptions import NotFittedError
    X, y = datasets.make_classification(n_samples=60, random_state=0)
    bad = X.copy()
    bad[3, 1] = np.nan
    for est, refused in (
            (LaminaClassifier(epochs=5, random_state=0),
             ((bad, y), (X, np.zeros(60)))),
            (LaminaRegressor(epochs=5, random_state=0),
             ((bad, y), (X, np.where(y, np.inf, 0)), (X, np.where(y, 1e39, 0))))):
        est.fit(X, y)
        want, state = est.predict(X), dict(est.__dict__)
        for Xr, yr in refused:
            with pytest.raises(ValueError):
                est.fit(Xr, yr)
            assert est.__dict__.keys() == state.keys()
            assert all(est.__dict__[k] is v for k, v in state.items())
            np.testing.assert_array_equal(est.predict(X), want)
    # a y beyond float32's range (1e39) passed the checks of y and was refused
    # by Net.fit, after the net was built: refused before it, naming y's own
    # row (not one of the early-stopping split's rows) and the value
    for method in ("fit", "partial_fit"):
        est, yr = LaminaRegressor(), y.astype(float)
        yr[7] = -1e39
        with pytest.raises(ValueError, match=r"%s: y holds -1e\+39 \(row 7, column 0\), "
                           "beyond float32's range" % method):
            getattr(est, method)(X, yr)
        with pytest.raises(NotFittedError):
            est.predict(X)
    for est, Xr, yr in ((LaminaClassifier(early_stopping=2, validation_fraction=1.5), X, y),):
        with pytest.raises(ValueError):
            est.fit(Xr, yr)
        with pytest.raises(NotFittedError):
            est.predict(X)
    est = LaminaClassifier()
    with pytest.raises(ValueError):
        est.partial_fit(X, y, classes=[0, 5])  # y's 1 is not a class
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_ctrl_c_in_fit_counts_the_epochs_done():
    # Ctrl-C during fit keeps the net trained so far, but n_iter_ and
    # loss_curve_ were missing, and history_ was still the previous fit's:
    # it described another net.
    import os
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("not on the main thread")
    X, y = datasets.make_classification(n_samples=2000, random_state=0)
    est = LaminaClassifier(epochs=3, batch_size=8, random_state=0, threads=1).fit(X, y)
    assert est.n_iter_ == 3 and len(est.history_.epoch) == 3
    est.set_params(epochs=100000)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt) as e:
            est.fit(X, y)
    finally:
        signal.signal(signal.SIGINT, before)
    done = int(re.search(r"after (\d+) complete epochs", str(e.value)).group(1))
    assert est.n_iter_ == done and len(est.loss_curve_) == done
    assert not hasattr(est, "history_")
    assert est.score(X, y) > 0.5  # the net trained so far


def test_fit_converts_float64_data_once():
    # fit kept float64 X as it was and converted it to float32 for each
    # use: the standardisation, then the training; with early stopping it
    # split the float64 rows first and converted each part, 1.5 times X's
    # size in copies at the peak. It is converted once now (0.5 times X,
    # and its split 0.5 more), with the same bits.
    import tracemalloc
    rs = np.random.RandomState(0)
    X = rs.randn(40000, 50)
    y = (X[:, 0] > 0).astype(int)
    est = LaminaClassifier(hidden_layer_sizes=(2,), epochs=1, early_stopping=2, batch_size=512,
                           random_state=0, threads=1)
    tracemalloc.start()
    try:
        est.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * X.nbytes, peak / X.nbytes
    same = clone(est).fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(same.net_.params, est.net_.params)


def test_a_fit_that_fails_in_training_drops_the_previous_history():
    # A NaN loss (NumericError) in the second epoch of a refit: n_iter_
    # and loss_curve_ were missing, and history_ was the previous fit's.
    import lamina
    X, y = datasets.make_classification(n_samples=200, random_state=0)
    est = LaminaClassifier(epochs=3, random_state=0).fit(X, y)
    assert len(est.history_.epoch) == 3

    class Diverge:  # a loss of NaN from epoch 2 on, as a learning rate far too high gives
        def __init__(self, net):
            self.net = net

        def __call__(self, epoch, logs):
            self.net.params[:] = np.nan
    est.set_params(epochs=10)
    real_fit = lamina.Net.fit

    def fit(net, *a, **k):
        k["callbacks"] = list(k["callbacks"]) + [Diverge(net)]
        return real_fit(net, *a, **k)
    lamina.Net.fit = fit
    try:
        with pytest.raises(lamina.NumericError):
            est.fit(X, y)
    finally:
        lamina.Net.fit = real_fit
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    assert not hasattr(est, "history_")


def test_multi_output_regression_in_target_units():
    X, Y = datasets.load_linnerud(return_X_y=True)
    est = LaminaRegressor(epochs=200, early_stopping=0, random_state=0).fit(X, Y)
    p = est.predict(X)
    assert p.shape == (20, 3) and est.score(X, Y) > 0.3
    np.testing.assert_allclose(p.mean(axis=0), Y.mean(axis=0), rtol=0.1)
    one = LaminaRegressor(epochs=20, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (20,)


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_defaults_as_good_as_mlp(name):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore", ConvergenceWarning)
    cls = name == "wine"
    X, y = getattr(datasets, "load_" + name)(return_X_y=True)
    Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0,
                                      stratify=y if cls else None)
    ours = (LaminaClassifier if cls else LaminaRegressor)(random_state=0).fit(Xa, ya)
    theirs = (MLPClassifier if cls else MLPRegressor)(random_state=0).fit(Xa, ya)
    assert ours.score(Xb, yb) >= theirs.score(Xb, yb)


def _imbalanced(seed=0, n_major=380, n_minor=20):
    """Two overlapping 2-d classes, "minor" rare (as tests/cli/test_class_weight.sh)."""
    rs = np.random.RandomState(seed)
    X = np.vstack([rs.normal(0, 0.5, (n_major, 2)), rs.normal(0.9, 0.5, (n_minor, 2))])
    y = np.array(["major"] * n_major + ["minor"] * n_minor)
    return X, y


def test_class_weight_balanced_raises_minority_recall():
    X, y = _imbalanced(0)
    Xt, yt = _imbalanced(1)
    kw = dict(hidden_layer_sizes=(8,), epochs=30, random_state=3)
    plain = LaminaClassifier(**kw).fit(X, y)
    bal = LaminaClassifier(class_weight="balanced", **kw).fit(X, y)
    named = LaminaClassifier(class_weight={"minor": 19.0}, **kw).fit(X, y)
    recall = [np.mean(e.predict(Xt)[yt == "minor"] == "minor") for e in (plain, bal, named)]
    # measured: 0.0, 0.9 and 0.9 (data seeds 0-3, random_state 3 and 7: 0-0.15, 0.9-1)
    assert recall[0] <= 0.3 and recall[1] >= 0.7 and recall[2] >= 0.7, recall
    # the library's weights are the ones asked for: balanced's are sklearn's
    from sklearn.utils.class_weight import compute_class_weight
    np.testing.assert_allclose(bal._class_weights(np.searchsorted(bal.classes_, y), False),
                               compute_class_weight("balanced", classes=bal.classes_, y=y))
    # None is unweighted to the bit, and a dict of ones too
    again = LaminaClassifier(class_weight={"major": 1, "minor": 1}, **kw).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(Xt), plain.predict_proba(Xt))


def test_class_weight_params_and_clone():
    est = LaminaClassifier(class_weight={"a": 2.0}, epochs=2)
    assert est.get_params()["class_weight"] == {"a": 2.0}
    c = clone(est)
    assert c.class_weight == {"a": 2.0}
    c.set_params(class_weight="balanced")
    assert c.get_params()["class_weight"] == "balanced"
    assert "class_weight" not in LaminaRegressor().get_params()
    X, names = iris()
    pickle.loads(pickle.dumps(LaminaClassifier(class_weight="balanced", epochs=2,
                                               random_state=0).fit(X, names))).predict(X)


@pytest.mark.parametrize("cw, msg", [
    ({"nope": 2.0}, "not among the classes"),
    ({"setosa": -1.0}, "finite and >= 0"),
    ({"setosa": float("nan")}, "finite and >= 0"),
    ({"setosa": "x"}, "not a number"),
    ({"setosa": 0, "versicolor": 0, "virginica": 0}, "every class weighs 0"),
    ("balance", "None, 'balanced' or a dict"),
    ([1.0, 2.0, 3.0], "None, 'balanced' or a dict"),
], ids=["unknown", "negative", "nan", "text", "all_zero", "typo", "list"])
def test_class_weight_bad_raises_value_error(cw, msg):
    X, names = iris()
    with pytest.raises(ValueError, match=msg):
        LaminaClassifier(class_weight=cw, epochs=1).fit(X, names)


def test_class_weight_balanced_partial_fit_refused():
    X, names = iris()
    with pytest.raises(ValueError, match="partial_fit"):
        LaminaClassifier(class_weight="balanced").partial_fit(X, names, classes=np.unique(names))
    # a dict works with partial_fit
    LaminaClassifier(class_weight={"setosa": 2.0}, random_state=0).partial_fit(
        X, names, classes=np.unique(names))


def test_validation_fraction_outside_0_1_is_refused():
    # early_stopping holds out validation_fraction of the rows: -0.5 or 0
    # held out one row without a word, 1.0 and 1.5 all of them, which
    # failed as "the training set is empty", naming no setting.
    X, y = datasets.make_classification(n_samples=60, random_state=0)
    for vf in (-0.5, 0.0, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"validation_fraction %r must be in \(0, 1\)" % vf):
            LaminaClassifier(epochs=2, early_stopping=2, validation_fraction=vf).fit(X, y)
        with pytest.raises(ValueError, match="validation_fraction"):
            LaminaRegressor(epochs=2, validation_fraction=vf).fit(X, y)
    # near 1 on few rows: one row still trains
    assert LaminaClassifier(epochs=2, early_stopping=2, validation_fraction=0.99,
                            random_state=0).fit(X[:12], y[:12]).n_iter_ >= 1
    assert LaminaClassifier(epochs=2, validation_fraction=5).fit(X, y).n_iter_ == 2  # unused


def test_threads_setting_survives_pickling():
    # The net pickles as its model file, which keeps no thread count: an
    # estimator made with threads=1 (say, to run inside joblib's workers
    # without oversubscribing) predicted on every core after unpickling.
    import copy
    X, y = datasets.make_classification(n_samples=40, random_state=0)
    for est in (LaminaClassifier(epochs=2, threads=1, random_state=0),
                LaminaRegressor(epochs=2, threads=1, random_state=0)):
        est.fit(X, y)
        assert est.net_.threads == 1
        for back in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
            assert back.net_.threads == 1
            np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert pickle.loads(pickle.dumps(LaminaClassifier(threads=1))).threads == 1  # unfitted


@pytest.mark.parametrize("param, bad", [
    ("hidden_layer_sizes", "16"), ("hidden_layer_sizes", (16.5,)), ("hidden_layer_sizes", None),
    ("hidden_layer_sizes", (0,)), ("hidden_layer_sizes", [[4]]),
    ("activation", 1), ("activation", "swish"), ("optimizer", None), ("optimizer", "adagrad"),
    ("lr", "0.1"), ("lr", 0), ("lr", float("nan")), ("batch_size", 2.5), ("batch_size", "8"),
    ("batch_size", 0), ("epochs", "10"), ("epochs", 2.5), ("epochs", 0), ("epochs", None),
    ("weight_decay", "a"), ("weight_decay", None), ("weight_decay", -1),
    ("early_stopping", True), ("early_stopping", -1), ("validation_fraction", "0.1"),
    ("init", None), ("init", 3), ("standardize", "no"), ("threads", "2"), ("threads", -2),
    ("verbose", "x"),
])
def test_bad_parameters_are_refused_by_name_in_fit(param, bad):
    # Wrong types failed deep inside with messages naming no parameter
    # (validation_fraction='0.1': "'<' not supported between instances of
    # 'int' and 'str'", activation=1: ctypes' "wrong type") or were taken:
    # epochs='10' trained 10 epochs, hidden_layer_sizes='16' a layer of 16,
    # standardize='no' standardised, init=None trained from all-zero weights.
    # As scikit-learn's estimators: stored unchanged, checked by fit.
    X, y = datasets.make_classification(n_samples=30, random_state=0)
    for cls in (LaminaClassifier, LaminaRegressor):
        est = cls(**dict({"epochs": 2, "random_state": 0}, **{param: bad}))
        assert est.get_params()[param] is bad
        for fit in (lambda: est.fit(X, y),
                    lambda: est.partial_fit(X, y, **({"classes": [0, 1]}
                                                     if cls is LaminaClassifier else {}))):
            with pytest.raises(ValueError, match=r"The '%s' parameter of %s must be .* Got %s "
                               r"instead\." % (param, cls.__name__, re.escape(repr(bad)))) as e:
                fit()
            assert isinstance(e.value, TypeError)  # scikit-learn's InvalidParameterError
            assert not hasattr(est, "net_")


def test_good_parameters_of_other_forms_are_taken():
    import numpy as np
    X, y = datasets.make_classification(n_samples=30, random_state=0)
    for kw in ({"hidden_layer_sizes": 16}, {"hidden_layer_sizes": np.array([8, 4])},
               {"hidden_layer_sizes": ()}, {"epochs": 2.0}, {"epochs": np.int64(2)},
               {"activation": None}, {"activation": "leaky"}, {"lr": 0.01},
               {"batch_size": np.int32(8)}, {"verbose": False}, {"threads": 1},
               {"standardize": np.bool_(False)}, {"validation_fraction": 5},
               {"early_stopping": 0}):
        est = LaminaClassifier(**dict({"epochs": 2, "random_state": 0}, **kw)).fit(X, y)
        assert est.n_iter_ == 2, kw
    assert [l.units for l in LaminaClassifier(hidden_layer_sizes=np.array([8, 4]), epochs=1,
                                              random_state=0).fit(X, y).net_.layers] == [8, 4, 2]


def test_class_weight_as_text_is_refused():
    # float() read "2": class_weight={"setosa": "2"} weighed setosa 2
    X, names = iris()
    for v in ("2", True):
        with pytest.raises(ValueError, match=r"class_weight\['setosa'\] = %r is not a number"
                           % (v,)):
            LaminaClassifier(class_weight={"setosa": v}, epochs=1).fit(X, names)


def test_default_lr_is_sklearns_but_rprops_first_step():
    # lr=None: 0.001, MLPClassifier's learning_rate_init, for sgd too (a
    # deliberate difference from Net.fit's and the CLI's 0.01 for the SGD
    # family, which the docs state); rprop's first step size 0.01 as theirs
    import lamina
    X, y = datasets.make_classification(n_samples=30, random_state=0)
    for opt, want in (("sgd", 0.001), ("momentum", 0.001), ("adam", 0.001), ("rprop", 0.01)):
        for est in (LaminaClassifier(optimizer=opt, epochs=1, random_state=0).fit(X, y),
                    LaminaRegressor(optimizer=opt, epochs=1, random_state=0).fit(X, y)):
            assert est.history_.history["lr"][0] == pytest.approx(want), (opt, type(est))
    net = lamina.Net(inputs=X.shape[1], layers=[lamina.Dense(2, "softmax")])
    assert net.fit(X, y, epochs=1, optimizer="sgd").history["lr"][0] == pytest.approx(0.01)
    # help(LaminaClassifier) says so (it read "lr (None: 0.001, and for rprop
    # its first step size 0.01, as the CLI's and Net.fit's)")
    doc = " ".join(LaminaClassifier.__doc__.split())
    assert "learning_rate_init, for sgd too, on purpose: Net.fit and the CLI start the SGD family at 0.01" in doc
