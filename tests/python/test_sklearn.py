"""lamina.sklearn: scikit-learn's conventions, pipelines, search, pickling."""
import pickle
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


def test_feature_names_from_pandas():
    pd = pytest.importorskip("pandas")
    X, names = iris()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = LaminaClassifier(epochs=5, random_state=0).fit(df, names)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    est.predict(df)


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
