"""scikit-learn estimators on lamina: LaminaClassifier and LaminaRegressor.

They follow scikit-learn's conventions (parameters stored unchanged by
__init__, get_params/set_params from BaseEstimator, fit returns self,
fitted attributes end in "_"), so they work in Pipeline, GridSearchCV and
cross_val_score, clone and pickle (the net pickles as its model file's
bytes). Inputs are standardised inside the net by default (the CLI does the
same), regression targets too, so the defaults train well on raw data.
"""
import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .errors import LaminaError
from .net import _OPTIMS, Dense, Net, _not_finite, _whole

try:  # scikit-learn >= 1.2: its own parameter error (a ValueError and a TypeError)
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # older
    class InvalidParameterError(ValueError, TypeError):
        pass

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate
except ImportError:  # older: the estimator's own method
    def _validate(est, *args, **kw):
        return est._validate_data(*args, **kw)


# fit's X, converted once to what the net reads (float32 rows): the
# standardisation, the early-stopping split and the training all use this
# copy in place. Kept as float64, X was converted for each (twice, and
# split as float64 first: 2.5 times X's size at the peak with early
# stopping, where this is 2 times, or 1.5 times without it).
_FIT_X = dict(dtype=np.float32, order="C")

_ACTS = ("relu", "tanh", "sigmoid", "leaky_relu", "leaky", "identity", "linear", "softmax")
_INITS = ("xavier", "he", "uniform01")
_SCHEDULES = ("constant", "cosine", "step", "plateau")


def _whole_from(v, lo):
    """v as an int when it is a whole number >= lo (4.0 is 4; text, 2.5 and
    True are not), else None."""
    try:
        v = _whole(v, "")
    except LaminaError:
        return None
    return v if v >= lo else None


def _number(v, lo=None, strict=False):
    """v is a number (not text nor a bool), finite and above lo when lo is given."""
    if isinstance(v, (str, bytes, bool, np.bool_)):
        return False
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return False
    return lo is None or (math.isfinite(f) and (f > lo if strict else f >= lo))


def _column_list(names):
    """feature names as the CLI's metadata "features" lists them (a name
    holding a comma, or starting with a quote, in double quotes, a quote
    inside written twice: lm_csv_list_next reads it back), so `lamina
    predict` and `eval` take a CSV file's columns by header name; None when
    they cannot stand for the columns (two alike, a NUL, longer than a
    metadata value may be: the CLI then takes the columns by position)."""
    names = [str(n) for n in names]
    if len(set(names)) != len(names) or any("\0" in n for n in names):
        return None
    items = ['"%s"' % n.replace('"', '""') if "," in n or n.startswith('"') else n
             for n in names]
    s = ",".join(items)
    return s if len(s.encode()) < 1 << 20 else None


class _LaminaBase(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", lr=None,
                 batch_size=None, epochs=400, weight_decay=0.0, early_stopping=0,
                 validation_fraction=0.1, init="xavier", standardize=True, random_state=None,
                 threads=None, verbose=0, lr_schedule="constant", lr_warmup=0, lr_factor=0.1,
                 lr_patience=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init = init
        self.standardize = standardize
        self.random_state = random_state
        self.threads = threads
        self.verbose = verbose
        self.lr_schedule = lr_schedule
        self.lr_warmup = lr_warmup
        self.lr_factor = lr_factor
        self.lr_patience = lr_patience

    # -- the settings, checked by fit and partial_fit before any work (as
    # scikit-learn's estimators do: __init__ stores them unchanged)

    def _hidden_sizes(self):
        """hidden_layer_sizes as a list of ints (one number is one layer),
        or None when it is not whole numbers >= 1."""
        h = self.hidden_layer_sizes
        if isinstance(h, (str, bytes)):
            return None
        if np.isscalar(h):
            h = [h]
        elif not hasattr(h, "__iter__"):
            return None
        try:
            sizes = [_whole_from(v, 1) if np.isscalar(v) else None for v in h]
        except TypeError:  # a 0-d array
            return None
        return None if None in sizes else sizes

    def _check_params(self):
        g = self.get_params()
        rules = (
            ("hidden_layer_sizes", self._hidden_sizes() is not None,
             "whole numbers >= 1, as a tuple such as (100,) or (64, 32), or one number"),
            ("activation", g["activation"] is None or (isinstance(g["activation"], str)
                                                        and g["activation"] in _ACTS),
             "None (identity) or one of %s" % ", ".join(map(repr, _ACTS))),
            ("optimizer", isinstance(g["optimizer"], str) and g["optimizer"] in _OPTIMS,
             "one of %s" % ", ".join(map(repr, _OPTIMS))),
            ("lr", g["lr"] is None or _number(g["lr"], 0, strict=True),
             "None (the optimizer's default) or a number > 0"),
            ("batch_size", g["batch_size"] is None or _whole_from(g["batch_size"], 1) is not None,
             "None (32, or all the rows for rprop) or a whole number >= 1"),
            ("epochs", _whole_from(g["epochs"], 1) is not None, "a whole number >= 1"),
            ("weight_decay", _number(g["weight_decay"], 0), "a number >= 0"),
            ("early_stopping", _whole_from(g["early_stopping"], 0) is not None,
             "a whole number of epochs >= 0 (0: off)"),
            ("validation_fraction", _number(g["validation_fraction"]), "a number in (0, 1)"),
            ("init", isinstance(g["init"], str) and g["init"] in _INITS,
             "one of %s" % ", ".join(map(repr, _INITS))),
            ("standardize", isinstance(g["standardize"], (bool, np.bool_)), "True or False"),
            ("threads", g["threads"] is None or _whole_from(g["threads"], 0) is not None,
             "None (all cores) or a whole number >= 0"),
            ("verbose", isinstance(g["verbose"], (bool, np.bool_)) or
             _whole_from(g["verbose"], 0) is not None, "a whole number >= 0 or a bool"),
            ("lr_schedule", isinstance(g["lr_schedule"], str) and g["lr_schedule"] in _SCHEDULES,
             "one of %s" % ", ".join(map(repr, _SCHEDULES))),
            ("lr_warmup", _whole_from(g["lr_warmup"], 0) is not None,
             "a whole number of epochs >= 0 (0: none)"),
            ("lr_factor", _number(g["lr_factor"], 0, strict=True) and float(g["lr_factor"]) < 1,
             "a number in (0, 1)"),
            ("lr_patience", _whole_from(g["lr_patience"], 0) is not None,
             "a whole number of epochs >= 0"),
        )
        for name, ok, want in rules:
            if not ok:
                raise InvalidParameterError("The %r parameter of %s must be %s. Got %r instead."
                                            % (name, type(self).__name__, want, g[name]))

    # -- the net

    def _build(self, n_in, n_out, out_act, X, seed):
        layers = [Dense(s, self.activation) for s in self._hidden_sizes()]
        layers.append(Dense(n_out, out_act))
        net = Net(inputs=n_in, layers=layers, init=self.init, seed=seed,
                  threads=self.threads or 0)
        if self.standardize:
            net._normalize_from(X)
        # fitted on a frame: its column names, as `lamina train` records a
        # CSV header's, so the CLI matches a file's columns by name (it
        # took them by position: another order predicted silently wrong)
        cols = getattr(self, "feature_names_in_", None)
        feats = None if cols is None else _column_list(cols)
        if feats is not None:
            net.set_meta("features", feats)
        return net

    def _lr(self):
        """lr, None giving 0.001 (MLPClassifier's learning_rate_init) for the
        gradient optimizers and 0.01, the CLI's and Net.fit's first step
        size, for rprop: with 0.001 rprop started ten times smaller here than
        there, so the same settings trained differently."""
        if self.lr is not None:
            return self.lr
        return 0.01 if self.optimizer == "rprop" else 0.001

    def _seed(self):
        return int(check_random_state(self.random_state).randint(1, 2 ** 31 - 1))

    def _train(self, X, t, epochs, seed, class_weight=None, partial=False):
        # partial_fit trains on every row it is given, as scikit-learn's
        # MLPs do: early stopping over one epoch a call held out the same
        # validation_fraction of the rows (the same ones, for a fixed
        # random_state) from every call, and they were never trained on
        val = None
        n = X.shape[0]
        patience = 0 if partial else self.early_stopping
        # a schedule follows a run's epochs; partial_fit's calls are one
        # epoch each, and every call would start it again (the warmup's
        # first epoch, the plateau's first judgement) without a word
        if partial and (self.lr_schedule != "constant" or self.lr_warmup):
            raise ValueError("partial_fit trains one epoch a call and cannot follow "
                             "lr_schedule=%r or lr_warmup=%r across calls: use fit, or "
                             "lr_schedule='constant' and lr_warmup=0"
                             % (self.lr_schedule, self.lr_warmup))
        sched = {"lr_schedule": self.lr_schedule, "lr_warmup": self.lr_warmup}
        if self.lr_schedule == "plateau":  # on the held-out loss with early_stopping
            sched.update(lr_factor=self.lr_factor, lr_patience=self.lr_patience)
        if patience and n >= 10:
            vf = self.validation_fraction
            if not 0 < vf < 1:
                raise ValueError("validation_fraction %r must be in (0, 1): the part of the rows "
                                 "early_stopping holds out" % (vf,))
            rs = np.random.RandomState(seed)
            idx = rs.permutation(n)
            k = min(n - 1, max(1, int(round(vf * n))))
            val = (X[idx[:k]], t[idx[:k]])
            X, t = X[idx[k:]], t[idx[k:]]
        self._training = True
        losses = []  # the epochs done, for when Net.fit raises (it returns no History then)
        try:
            self.history_ = self.net_.fit(X, t, epochs=epochs, batch_size=self.batch_size,
                                          optimizer=self.optimizer, lr=self._lr(),
                                          weight_decay=self.weight_decay,
                                          early_stopping=patience,
                                          validation_data=val, seed=seed, verbose=self.verbose,
                                          class_weight=class_weight,
                                          callbacks=[lambda e, logs: losses.append(logs["loss"])],
                                          **sched)
        except BaseException:
            # Ctrl-C, or a NaN loss (NumericError): the net keeps what it
            # learnt; n_iter_ and loss_curve_ count it, and a previous
            # fit's history_ does not stand for it
            self.__dict__.pop("history_", None)
            self.n_iter_ = getattr(self, "n_iter_", 0) + len(losses)
            self.loss_curve_ = list(getattr(self, "loss_curve_", [])) + losses
            raise
        self.n_iter_ = getattr(self, "n_iter_", 0) + len(self.history_.epoch)
        self.loss_curve_ = list(getattr(self, "loss_curve_", [])) + self.history_["loss"]
        return self

    # what a fit sets: a fit or partial_fit refused before it trains puts
    # them back as they were
    _FITTED = ("net_", "classes_", "n_iter_", "loss_curve_", "history_", "n_features_in_",
               "feature_names_in_", "_y_1d")

    def _unless_refused(self, run):
        """run() (the body of fit or partial_fit); when it raises before the
        net trains (the data, the classes or validation_fraction refused),
        the estimator is left as it was: a refused refit dropped the fitted
        net, and a refused first fit left an untrained one that predict
        used without a word. Once training has started, what it did stays
        (Ctrl-C keeps the net trained so far, as Net.fit)."""
        old = {a: self.__dict__[a] for a in self._FITTED if a in self.__dict__}
        self._training = False
        try:
            return run()
        except BaseException:
            if not self._training:
                for a in self._FITTED:
                    self.__dict__.pop(a, None)
                self.__dict__.update(old)
            raise
        finally:
            self.__dict__.pop("_training", None)

    def __setstate__(self, state):
        # the net comes back from its model file, which keeps no thread count
        super().__setstate__(state)
        if self.threads and "net_" in self.__dict__:
            self.net_.threads = self.threads

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _more_tags(self):
        return {"allow_nan": False}


class LaminaClassifier(ClassifierMixin, _LaminaBase):
    """A dense net with softmax output trained with cross-entropy.

    Parameters: hidden_layer_sizes (tuple of widths), activation (relu, tanh,
    sigmoid, leaky_relu), optimizer (adam, adamw, sgd, momentum, nesterov,
    rprop: full batch, FANN's default), lr (None: 0.001, MLPClassifier's
    learning_rate_init, for sgd too, on purpose: Net.fit and the CLI start
    the SGD family at 0.01; for rprop its first step size 0.01, as theirs),
    batch_size (None: 32, or all the rows for rprop), epochs, weight_decay,
    early_stopping (patience in epochs on a validation_fraction, in (0, 1),
    held out by fit; 0 off; partial_fit trains on every row), init (xavier,
    he, uniform01), standardize (inputs to mean 0, std 1 inside the net), random_state,
    threads (None: all cores), verbose, class_weight (None; "balanced":
    n_samples / (n_classes * np.bincount(y)) over the y given to fit, as
    scikit-learn's compute_class_weight; or a dict {class: weight}, classes
    not in it weighing 1): a row of class c counts weight[c] times in the
    training loss, as Keras' class_weight (the batch's mean of weight * loss);
    the validation loss of early_stopping stays unweighted. lr_schedule
    (constant, cosine, step, plateau: torch's ReduceLROnPlateau on the
    early_stopping validation loss, else the training loss, the lr times
    lr_factor (0.1) after more than lr_patience (10) epochs without a
    better one), lr_warmup (epochs of linear warmup, lr * (e + 1) /
    (lr_warmup + 1) at epoch e, then the schedule; 0 none): as Net.fit's;
    partial_fit refuses a schedule or warmup (it trains one epoch a call).

    Fitted: classes_, n_features_in_, feature_names_in_ (for frames with
    string column names), net_ (a lamina.Net), history_, n_iter_, loss_curve_.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", lr=None,
                 batch_size=None, epochs=400, weight_decay=0.0, early_stopping=0,
                 validation_fraction=0.1, init="xavier", standardize=True, random_state=None,
                 threads=None, verbose=0, class_weight=None, lr_schedule="constant", lr_warmup=0,
                 lr_factor=0.1, lr_patience=10):
        super().__init__(hidden_layer_sizes, activation, optimizer, lr, batch_size, epochs,
                         weight_decay, early_stopping, validation_fraction, init, standardize,
                         random_state, threads, verbose, lr_schedule, lr_warmup, lr_factor,
                         lr_patience)
        self.class_weight = class_weight

    def _prepare(self, X, y, reset):
        X, y = _validate(self, X, y, reset=reset, **_FIT_X)
        check_classification_targets(y)
        return X, y

    def _class_weights(self, lab, partial):
        """class_weight as one float a class of classes_ (None: unweighted)."""
        cw, k = self.class_weight, len(self.classes_)
        if cw is None:
            return None
        if isinstance(cw, str) and cw == "balanced":
            if partial:
                raise ValueError("class_weight='balanced' is not supported by partial_fit "
                                 "(it needs the whole y): pass a dict")
            count = np.bincount(lab, minlength=k)
            if np.any(count == 0):
                raise ValueError("class_weight='balanced': class %r has no rows in y"
                                 % (self.classes_[int(np.argmin(count))],))
            return len(lab) / (k * count.astype(np.float64))
        if not isinstance(cw, dict):
            raise ValueError("class_weight must be None, 'balanced' or a dict {class: weight}, "
                             "not %r" % (cw,))
        w = np.ones(k)
        for c, v in cw.items():
            i = np.searchsorted(self.classes_, c) if len(self.classes_) else 0
            try:
                found = i < k and self.classes_[i] == c
            except (TypeError, ValueError):
                found = False
            if not found:
                raise ValueError("class_weight: class %r is not among the classes %r"
                                 % (c, self.classes_))
            if not _number(v):  # (float() would read "2")
                raise ValueError("class_weight[%r] = %r is not a number" % (c, v))
            f = float(v)
            if not (np.isfinite(f) and f >= 0):
                raise ValueError("class_weight[%r] = %r: a weight must be finite and >= 0"
                                 % (c, v))
            w[i] = f
        if not np.any(w > 0):
            raise ValueError("class_weight: every class weighs 0; at least one must weigh more")
        return w

    def fit(self, X, y):
        self._check_params()
        return self._unless_refused(lambda: self._fit(X, y))

    def _fit(self, X, y):
        for a in ("net_", "classes_", "n_iter_", "loss_curve_"):
            self.__dict__.pop(a, None)
        X, y = self._prepare(X, y, reset=True)
        self.classes_ = np.unique(y)
        return self._fit_epochs(X, y, self.epochs, False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over every row of X, y (the first call needs classes, as
        scikit-learn's)."""
        self._check_params()
        return self._unless_refused(lambda: self._partial_fit(X, y, classes))

    def _partial_fit(self, X, y, classes):
        first = not hasattr(self, "net_")
        X, y = self._prepare(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes %r differ from the first call's %r"
                             % (classes, self.classes_))
        return self._fit_epochs(X, y, 1, True)

    def _fit_epochs(self, X, y, epochs, partial):
        if len(self.classes_) < 2:
            raise ValueError("LaminaClassifier needs at least 2 classes; y has 1 class: %r"
                             % (self.classes_[0],))
        lab = np.searchsorted(self.classes_, y)
        if np.any(lab >= len(self.classes_)) or np.any(self.classes_[np.minimum(
                lab, len(self.classes_) - 1)] != y):
            raise ValueError("y holds labels not in classes_ %r" % (self.classes_,))
        cw = self._class_weights(lab, partial)
        seed = self._seed()
        if not hasattr(self, "net_"):
            self.net_ = self._build(X.shape[1], len(self.classes_), "softmax", X, seed)
            self._name_classes()
        return self._train(X, lab.astype(np.int32), epochs, seed, cw, partial)

    def _name_classes(self):
        """Records the labels as net_'s class names, for the CLI, when a
        model file can hold them: a label holding a NUL, or no UTF-8 (a lone
        surrogate), or longer than 1 MiB cannot be a C string. Then net_
        names none (the CLI shows the classes' indices, classes_'s order);
        classes_, which predict uses and pickling keeps, holds any label."""
        try:
            self.net_.class_names = [str(c) for c in self.classes_]
        except (LaminaError, UnicodeEncodeError):
            self.net_.class_names = None

    def predict_proba(self, X):
        check_is_fitted(self)
        X = _validate(self, X, reset=False, dtype=[np.float32, np.float64])
        return self.net_.predict(X).astype(np.float64)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        p = self.predict_proba(X)
        return self.classes_[p.argmax(axis=1)]


class LaminaRegressor(RegressorMixin, _LaminaBase):
    """A dense net with identity output trained with mean squared error; y may
    have several columns (multi-output). Targets are standardised inside the
    net (lm_net_set_target_norm) so predictions come back in y's units.
    Parameters and fitted attributes as LaminaClassifier's (no classes_), but
    early_stopping defaults to 10: on scikit-learn's diabetes data 400 epochs
    overfit (R^2 0.01) where stopping on a held-out 10% gives 0.33
    (python/bench/compare_sklearn.py)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam", lr=None,
                 batch_size=None, epochs=400, weight_decay=0.0, early_stopping=10,
                 validation_fraction=0.1, init="xavier", standardize=True, random_state=None,
                 threads=None, verbose=0, lr_schedule="constant", lr_warmup=0, lr_factor=0.1,
                 lr_patience=10):
        super().__init__(hidden_layer_sizes, activation, optimizer, lr, batch_size, epochs,
                         weight_decay, early_stopping, validation_fraction, init, standardize,
                         random_state, threads, verbose, lr_schedule, lr_warmup, lr_factor,
                         lr_patience)

    def _more_tags(self):
        return {"allow_nan": False, "multioutput": True}

    def _prepare(self, X, y, reset):
        return _validate(self, X, y, reset=reset, multi_output=True, y_numeric=True, **_FIT_X)

    def fit(self, X, y):
        self._check_params()
        return self._unless_refused(lambda: self._fit(X, y))

    def _fit(self, X, y):
        for a in ("net_", "n_iter_", "loss_curve_"):
            self.__dict__.pop(a, None)
        X, y = self._prepare(X, y, reset=True)
        return self._fit_epochs(X, y, self.epochs, False, "fit")

    def partial_fit(self, X, y):
        """One epoch over every row of X, y."""
        self._check_params()
        return self._unless_refused(lambda: self._partial_fit(X, y))

    def _partial_fit(self, X, y):
        first = not hasattr(self, "net_")
        X, y = self._prepare(X, y, reset=first)
        return self._fit_epochs(X, y, 1, True, "partial_fit")

    def _fit_epochs(self, X, y, epochs, partial, what):
        y = np.asarray(y, np.float64)
        Y = y.reshape(len(y), -1)
        # a finite float64 beyond float32's range (1e39) passes the check of
        # y above and becomes infinity for the trainer: refused here, before
        # the net is built (Net.fit refused it after, which left an untrained
        # net to predict), naming y's own row (not one of the early-stopping
        # split's) and value
        with np.errstate(over="ignore"):
            Y32 = Y.astype(np.float32)
        if not np.isfinite(Y32).all():
            raise _not_finite(what, "y", Y32, Y)
        if not hasattr(self, "net_"):
            self._y_1d = y.ndim == 1
        seed = self._seed()
        if not hasattr(self, "net_"):
            self.net_ = self._build(X.shape[1], Y.shape[1], None, X, seed)
            if self.standardize:
                sd = Y.std(axis=0)
                sd[~(sd > 1e-12 * np.abs(Y.mean(axis=0))) | ~(sd > 1e-30)] = 1.0
                self.net_.set_target_normalization(Y.mean(axis=0), sd)
        elif Y.shape[1] != self.net_.n_outputs:
            raise ValueError("y has %d targets; the net was fitted with %d"
                             % (Y.shape[1], self.net_.n_outputs))
        # the trainer reads targets through the net's standardisation itself
        return self._train(X, Y32, epochs, seed, partial=partial)

    def predict(self, X):
        check_is_fitted(self)
        X = _validate(self, X, reset=False, dtype=[np.float32, np.float64])
        p = self.net_.predict(X).astype(np.float64)
        return p[:, 0] if self._y_1d else p
