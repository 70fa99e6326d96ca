"""lamina.Net: a network of the C library driven with numpy arrays."""
import ctypes
import math
import operator
import os
import signal
import tempfile
import threading
import weakref

import numpy as np

from . import _lib as L
from .errors import InvalidArgumentError, LaminaTypeError

# ------------------------------------------------------------------ layers


def _named(fn, v, what, choices, where=""):
    """The library's number for the name v (fn: lm_*_from_name); a name
    that is not a str would reach ctypes, whose ArgumentError names neither
    the setting nor what it takes. where: "Dense: ", say."""
    if not isinstance(v, str):
        raise LaminaTypeError("%s%s %r is not a name (%s)" % (where, what, v, choices))
    i = fn(v.encode())
    if i < 0:
        raise InvalidArgumentError("%sunknown %s %r (%s)" % (where, what, v, choices))
    return i


def _act(name, where=""):
    if name is None or name == "linear":
        return 0  # LM_IDENTITY, as Keras' activation=None
    if name in ("leaky", "leaky_relu"):
        name = "leaky_relu"
    return _named(L.act_from_name, name, "activation",
                  "sigmoid, tanh, relu, leaky_relu, identity, softmax", where)


def _flag(v, what):
    """A yes/no setting: bool, numpy's, or 0 and 1; bool("no") is True, so
    a word given here would have meant its opposite silently."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    raise LaminaTypeError("%s %r is not True or False" % (what, v))


def _verbosity(v, what):
    """A verbosity: True, False or a whole number >= 0 (sklearn's and
    Keras' 0, 1, 2); bool("x") is True, so anything else printing or not
    by its truth would hide a mistake."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    number = isinstance(v, (int, float, np.integer, np.floating))
    if number and v >= 0:
        try:
            return _whole(v, what)
        except InvalidArgumentError:  # 2.5, nan
            pass
    raise (InvalidArgumentError if number else LaminaTypeError)(
        "%s %r is not True, False or a whole number >= 0" % (what, v))


def _real(v, what):
    """v as a Python float when it is a number (not a str, whose float()
    would read "0.1", nor a bool); the library checks the range."""
    if not isinstance(v, (str, bytes, bool, np.bool_)):
        try:
            return float(v)
        except (TypeError, ValueError):
            pass
        except OverflowError:
            raise InvalidArgumentError("%s %d is out of range" % (what, v)) from None
    raise LaminaTypeError("%s %r is not a number" % (what, v))


def _whole(v, what):
    """v as a Python int when it is a whole number (an int, numpy's, or a
    float such as 4.0); int() would cut 2.5 units to 2 without a word. Not
    a number (a str, which float() would read, None, a list) is a
    LaminaTypeError; a number not whole (2.5, True) InvalidArgumentError."""
    if isinstance(v, (str, bytes)):
        raise LaminaTypeError("%s %r is a string, not a whole number" % (what, v))
    if not isinstance(v, (bool, np.bool_)):
        try:
            return operator.index(v)
        except TypeError:
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise LaminaTypeError("%s %r is not a whole number" % (what, v)) from None
            if f.is_integer():
                return int(f)
    raise InvalidArgumentError("%s %r is not a whole number" % (what, v))


def _cint(v, what):
    """v as a C int for the library, which checks its own ranges; ctypes
    would wrap a larger number silently (2**32 + 4 units became 4)."""
    v = _whole(v, what)
    if not -2 ** 31 <= v < 2 ** 31:
        raise InvalidArgumentError("%s %d is out of range" % (what, v))
    return v


def _seed(v, what):
    """v as the uint64 lm_rng_seed takes; ctypes would wrap it silently
    (2**64 + 1 drew seed 1's numbers, -1 seed 2**64 - 1's) where the CLI's
    --seed refuses both."""
    v = _whole(v, what)
    if not 0 <= v < 2 ** 64:
        raise InvalidArgumentError("%s %d is out of range: a seed is a whole number from 0 to "
                                   "2**64 - 1 (as the CLI's --seed)" % (what, v))
    return v


def _floats(v, what):
    """v (a number or a sequence of them) as flat float32s; numpy would
    read text ("2") as a number and give its own message for "x"."""
    a = np.asarray(v)
    if a.dtype.kind not in "fiub":
        raise LaminaTypeError("%s %r is not numbers" % (what, v))
    return np.ascontiguousarray(a, np.float32).reshape(-1)


def _ctext(v, what):
    """str(v) encoded for the library; a C string ends at a NUL, so ctypes
    would cut "a\0b" to "a" (two class names then read alike)."""
    s = str(v)
    if "\0" in s:
        raise InvalidArgumentError("%s %r holds a NUL character, which C strings cannot" % (what, s))
    return s.encode()


def _meta_key(key):
    """A metadata key as set_meta and get_meta both send it: str(key), or
    bytes as the text they hold."""
    return _ctext(key.decode() if isinstance(key, bytes) else key, "metadata key")


def _square(v, what):
    """An int, or Keras' (n, n) for a square window or stride: lamina's
    pools and strides are square, so (n, m) with m != n is refused."""
    if np.isscalar(v) or v is None:
        return _whole(v, what)
    t = tuple(v)
    if len(t) != 2 or _whole(t[0], what) != _whole(t[1], what):
        raise InvalidArgumentError("%s %r: lamina takes one number here (a square window or "
                                   "stride), or a pair of equal ones" % (what, v))
    return _whole(t[0], what)


class Layer:
    """A layer kind of the C library; Net adds it in order."""

    def _add(self, h):  # pragma: no cover - each kind defines it
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join("%s=%r" % kv for kv in vars(self).items())
        return "%s(%s)" % (type(self).__name__, args)

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)


class Dense(Layer):
    """y = activation(x W + b): W (inputs, units). activation None is identity
    (Keras' default); the CLI's `WIDTH:ACT[:nobias]`."""

    def __init__(self, units, activation=None, bias=True):
        self.units = _whole(units, "Dense: units")
        _act(activation, "Dense: ")
        self.activation, self.bias = activation, _flag(bias, "Dense: bias")

    def _add(self, h):
        return L.net_add_dense(h, _cint(self.units, "Dense: units"), _act(self.activation),
                               0 if self.bias else 1)


class Conv2D(Layer):
    """2-D convolution (the CLI's `conv:FILTERS:K`): kernel_size an int or (kh, kw),
    padding "valid", "same" or a number of zeros. Weights (kh, kw, C, filters)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 bias=True):
        self.filters = _whole(filters, "Conv2D: filters")
        k = kernel_size if not np.isscalar(kernel_size) else (kernel_size, kernel_size)
        if not hasattr(k, "__len__") or len(k) != 2:
            raise InvalidArgumentError("Conv2D: kernel_size %r is not a number or (height, width)"
                                       % (kernel_size,))
        self.kernel_size = tuple(_whole(v, "Conv2D: kernel_size") for v in k)
        self.strides, self.padding = _square(strides, "Conv2D: strides"), padding
        _act(activation, "Conv2D: ")
        self.activation, self.bias = activation, _flag(bias, "Conv2D: bias")

    def _add(self, h):
        kh, kw = self.kernel_size
        pad = self.padding
        if isinstance(pad, str) and pad in ("same", "valid"):
            pad = L.LM_PAD_SAME if pad == "same" else L.LM_PAD_VALID
        elif isinstance(pad, (bool, np.bool_)) or not isinstance(pad, (int, np.integer)) or pad < 0:
            # (the C API's codes for same and valid are negative: a number
            # here is zeros, never a code)
            raise InvalidArgumentError("Conv2D: padding %r is not 'same', 'valid' or a number of "
                                       "zeros >= 0" % (pad,))
        return L.net_add_conv2d(h, _cint(self.filters, "Conv2D: filters"),
                                _cint(kh, "Conv2D: kernel height"),
                                _cint(kw, "Conv2D: kernel width"),
                                _cint(self.strides, "Conv2D: strides"),
                                _cint(pad, "Conv2D: padding"),
                                _act(self.activation), 0 if self.bias else 1)


class MaxPool2D(Layer):
    """Max pooling over pool_size windows, moved by strides (default pool_size)."""
    _fn = "net_add_maxpool2d"

    def __init__(self, pool_size=2, strides=None):
        name = type(self).__name__
        self.pool_size = _square(pool_size, name + ": pool_size")
        self.strides = self.pool_size if strides is None else _square(strides, name + ": strides")

    def _add(self, h):
        name = type(self).__name__
        return getattr(L, self._fn)(h, _cint(self.pool_size, name + ": pool_size"),
                                    _cint(self.strides, name + ": strides"))


class AvgPool2D(MaxPool2D):
    """Average pooling over pool_size windows (no padding)."""
    _fn = "net_add_avgpool2d"


class GlobalAvgPool2D(Layer):
    """The mean of each channel: (H, W, C) -> (C)."""

    def _add(self, h):
        return L.net_add_global_avgpool(h)


GlobalAvgPool = GlobalAvgPool2D
MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D = MaxPool2D, AvgPool2D, GlobalAvgPool2D


class Dropout(Layer):
    """Inverted dropout at rate in [0, 1) in training; identity in inference."""

    def __init__(self, rate):
        self.rate = _real(rate, "Dropout: rate")

    def _add(self, h):
        return L.net_add_dropout(h, self.rate)


class BatchNorm(Layer):
    """Batch normalisation per channel, PyTorch's convention (momentum 0.1 is the
    weight of the new batch in the running statistics; Keras' 0.99 is 0.01 here)."""

    def __init__(self, momentum=0.1, eps=1e-5):
        self.momentum = _real(momentum, "BatchNorm: momentum")
        self.eps = _real(eps, "BatchNorm: eps")

    def _add(self, h):
        return L.net_add_batchnorm(h, self.momentum, self.eps)


BatchNormalization = BatchNorm


class Activation(Layer):
    """A standalone elementwise activation of any shape, no weights (Keras'
    Activation, PyTorch's nn.ReLU() after a batch norm): "relu", "sigmoid",
    "tanh" or "leaky_relu"; the CLI's bare `relu`. The layer before takes
    activation None: Dense(64), BatchNorm(), Activation("relu"). Softmax
    (put it on the last Dense) and identity are refused when the layer is made.
    From 1.7."""

    def __init__(self, activation):
        # refused here, where the mistake is made, not when a Net is built
        if _act(activation, "Activation: ") in (0, _act("softmax")):
            raise InvalidArgumentError(
                "Activation: %r is not elementwise or does nothing (sigmoid, tanh, relu, "
                "leaky_relu); softmax goes on the last Dense" % (activation,))
        self.activation = activation

    def _add(self, h):
        return L.net_add_activation(h, _act(self.activation))


_KINDS = ["dense", "conv2d", "maxpool2d", "avgpool2d", "global_avgpool", "dropout", "batchnorm",
          "activation"]


def _f32(v):
    """A float32 setting as the shortest decimal that reads back to it."""
    return float(repr(np.float32(v)).replace("np.float32(", "").rstrip(")"))


def _layer_from_desc(d):
    act = L.act_name(d.act).decode()
    act = {"identity": None, "leaky": "leaky_relu"}.get(act, act)
    kind = _KINDS[d.kind] if 0 <= d.kind < len(_KINDS) else "?"
    if kind == "dense":
        return Dense(d.units, act, bool(d.has_bias))
    if kind == "conv2d":
        pad = {L.LM_PAD_SAME: "same", L.LM_PAD_VALID: "valid"}.get(d.pad, d.pad)
        return Conv2D(d.units, (d.kh, d.kw), d.stride, pad, act, bool(d.has_bias))
    if kind == "maxpool2d":
        return MaxPool2D(d.kh, d.stride)
    if kind == "avgpool2d":
        return AvgPool2D(d.kh, d.stride)
    if kind == "global_avgpool":
        return GlobalAvgPool2D()
    if kind == "dropout":
        return Dropout(_f32(d.rate))
    if kind == "batchnorm":
        return BatchNorm(_f32(d.momentum), _f32(d.eps))
    if kind == "activation":
        return Activation(act)
    raise InvalidArgumentError("layer kind %d is unknown to this lamina package" % d.kind)


# ------------------------------------------------------------------ arrays


def _not_finite(what, name, a, src):
    """The error for a (float32) holding NaN or infinity, converted from
    src: a finite float64 beyond float32's range became infinity there, and
    "holds NaN or infinity" sent the user looking for a value that is not
    in their data."""
    i = tuple(int(k) for k in np.argwhere(~np.isfinite(a))[0])
    where = "row %d" % i[0] + ("" if a.ndim < 2 else ", column %d" % i[1])
    v = src.reshape(a.shape)[i] if src is not None else None
    if v is not None and np.isfinite(v):
        return InvalidArgumentError("%s: %s holds %r (%s), beyond float32's range (about "
                                    "+-3.4e38), in which lamina computes"
                                    % (what, name, float(v), where))
    return InvalidArgumentError("%s: %s holds NaN or infinity (%s)" % (what, name, where))


_F32 = np.dtype(np.float32)


_NOT_NUMBERS = ": objects that are not all numbers (text, None, pandas' missing pd.NA)"


def _numbers(v):
    """v as a numpy array: an object array of numbers, which np.asarray
    makes of pandas' nullable columns (Int64, Float64, boolean: what
    convert_dtypes() and read_csv(dtype_backend=...) give), as the array
    of their type; others (text, None, pd.NA) stay objects, refused."""
    a = np.asarray(v)
    if a.dtype == object and a.size:
        try:
            b = np.array(a.tolist())
        except (TypeError, ValueError):  # ragged
            return a
        if b.dtype.kind in "fiub" and b.shape == a.shape:
            return b
    return a


def _finite(a):
    """Whether the float array a holds no NaN or infinity: one sum first
    (cheap, no temporary array); only a sum that is not finite (NaN,
    infinity, or an overflow of huge finite values, which numpy would warn
    about) needs the full check."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = a.sum()
    return math.isfinite(total) or bool(np.isfinite(a).all())


def as_rows(X, n_in, what, keep_u8=False, shape=None):
    """X as (n, n_in) float32 C-contiguous rows: the array itself when it is
    one already (no copy), else converted. keep_u8 keeps uint8 as it is (the
    trainer reads bytes). pandas frames go through np.asarray. shape: a
    function giving the net's input shape, (H, W, C) or (n_in,); samples of
    more than one axis must have it (axes of 1 aside) when it is an image."""
    a = X if isinstance(X, np.ndarray) else np.asarray(X)
    if a.dtype is _F32 and a.ndim == 2 and a.shape[1] == n_in and a.flags.c_contiguous:
        # the common case, checked first: float32 rows used in place
        if not _finite(a):
            raise _not_finite(what, "X", a, None)
        return a
    if a.dtype == object:
        a = _numbers(a)
    k = a.dtype.kind
    if k not in "fiub":
        raise LaminaTypeError("%s: X has dtype %s; lamina takes numbers (float, integer or bool)%s"
                              % (what, a.dtype, _NOT_NUMBERS if a.dtype == object else ""))
    if a.ndim == 0:
        raise InvalidArgumentError("%s: X is a scalar, not rows of %d features" % (what, n_in))
    if a.ndim == 1:
        a = a.reshape(1, -1) if (n_in > 1 and a.shape[0] == n_in) else a.reshape(-1, 1)
    elif a.ndim > 2:
        want = shape() if shape else (n_in,)
        got = a.shape[1:]
        # an image net's samples in another layout (PyTorch's (C, H, W))
        # hold as many numbers, and would be read as (H, W, C); axes of 1
        # change no order ((H, W) or (1, H, W) for one channel are fine)
        if len(want) == 3 and [d for d in got if d != 1] != [d for d in want if d != 1]:
            raise InvalidArgumentError("%s: X has samples of shape %s; the net takes %s (height, "
                                       "width, channels) or rows of %d" % (what, got, want, n_in))
        a = a.reshape(a.shape[0], -1)
    if a.shape[1] != n_in:
        raise InvalidArgumentError("%s: X has %d features per row; the net takes %d"
                                   % (what, a.shape[1], n_in))
    if keep_u8 and a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    src = a
    with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused below
        a = np.ascontiguousarray(a, dtype=np.float32)
    if k == "f" and not _finite(a):
        raise _not_finite(what, "X", a, src)
    return a


def _ptr(a):
    return a.ctypes.data


# ------------------------------------------------------------------- history


class History:
    """What fit returns: per-epoch lists in .history (Keras' shape):
    loss, accuracy, val_loss, val_accuracy, lr, seconds (NaN where it does
    not apply), and .epoch (1-based numbers)."""

    KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")

    def __init__(self):
        self.epoch = []
        self.history = {k: [] for k in self.KEYS}
        self.best_epoch = 0
        self.stopped = False

    def _add(self, info):
        self.epoch.append(info.epoch)
        for k, v in zip(self.KEYS, (info.train_loss, info.train_acc, info.val_loss, info.val_acc,
                                    info.lr, info.seconds)):
            self.history[k].append(float(v))

    def __getitem__(self, k):
        return self.history[k]

    def __repr__(self):
        return "History(epochs=%d, loss=%s)" % (len(self.epoch), self.history["loss"][-1:])


def _info_logs(info):
    return {"loss": float(info.train_loss), "accuracy": float(info.train_acc),
            "val_loss": float(info.val_loss), "val_accuracy": float(info.val_acc),
            "lr": float(info.lr), "seconds": float(info.seconds)}


# ------------------------------------------------------------------------ net


class _Handle:
    """Owns the lm_net and frees it once nothing refers to it: the Net, the
    views of its buffers and the workspaces each hold one."""

    def __init__(self, h):
        self.h = h
        self.ws = weakref.WeakSet()  # the live _Workspace objects, any thread's

    def free_ws(self):
        for w in list(self.ws):
            w.free()

    def __del__(self):
        if self.h:
            L.net_free(self.h)
            self.h = None


class _Workspace:
    """One thread's lm_ws. Kept in a threading.local, so it is freed when its
    thread ends or the Net goes; it holds the handle, so the net outlives it."""

    def __init__(self, own):
        self.p = None  # for __del__ when lm_ws_new fails
        h = ctypes.c_void_p()
        L.check(L.ws_new(ctypes.byref(h), own.h, 256))
        self.own, self.p = own, h.value
        own.ws.add(self)

    def free(self):
        p, self.p = self.p, None
        if p:
            L.ws_free(p)

    __del__ = free


class _EpochRunner:
    """Runs lm_train_epoch calls in one helper thread for the duration of a
    fit; the caller waits on a semaphore, which Python interrupts to run
    signal handlers. lm_errmsg is per thread: read here, passed back."""

    def __init__(self, t, d):
        self.t, self.d = t, d
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.info, self.res, self.quit = None, None, False
        self.thread = threading.Thread(target=self._loop, name="lamina-fit", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            self.go.acquire()
            if self.quit:
                return
            st = L.train_epoch(self.t, ctypes.byref(self.d), ctypes.byref(self.info))
            self.res = (st, L.errmsg().decode("utf-8", "replace") if st else "")
            self.done.release()

    def epoch(self, info):
        self.info = info
        self.go.release()
        while not self.done.acquire(timeout=0.25):
            pass
        return self.res

    def close(self):
        self.quit = True
        self.go.release()
        self.thread.join()


_INITS = "xavier, he, uniform01"
_OPTIMS = {"sgd": (0, 0.0, 0), "momentum": (0, 0.9, 0), "nesterov": (0, 0.9, 1),
           "adam": (1, 0.0, 0), "adamw": (2, 0.0, 0), "rprop": (3, 0.0, 0)}


class Net:
    """A feed-forward network of the C library.

    Net(inputs=3, layers=[Dense(4, "sigmoid", bias=False), Dense(1, "sigmoid", bias=False)])
    Net(input_shape=(28, 28, 1), layers=[Conv2D(32, 3, padding="same", activation="relu"), ...])

    input_shape is one sample's numpy shape, channels last: (H, W) or (H, W, C)
    (the library's (C, H, W) stored as H*W pixels of C channels). init:
    "xavier" (the CLI's default), "he" or "uniform01" (the tutorial's);
    parameters are drawn from lm_rng_seed(seed). threads: 0 all cores.
    """

    def __init__(self, inputs=None, layers=(), input_shape=None, init="xavier", seed=1,
                 threads=0):
        seed = _seed(seed, "Net: seed")
        if input_shape is not None:
            if np.isscalar(input_shape) or not hasattr(input_shape, "__iter__"):
                raise LaminaTypeError("Net: input_shape %r is not (H, W) or (H, W, C)"
                                      % (input_shape,))
            shp = tuple(_cint(s, "Net: input_shape side") for s in input_shape)
            if len(shp) == 2:
                shp = shp + (1,)
            if len(shp) != 3:
                raise InvalidArgumentError("input_shape %r is not (H, W) or (H, W, C)"
                                           % (input_shape,))
            n = shp[0] * shp[1] * shp[2]
            if inputs is not None and _whole(inputs, "Net: inputs") != n:
                raise InvalidArgumentError("inputs=%d does not match input_shape %r"
                                           % (inputs, input_shape))
            inputs = n
        if inputs is None:
            raise InvalidArgumentError("Net: give inputs= (features per row) or input_shape=")
        if isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise LaminaTypeError("Net: layers is %r; give a list of lamina layers, "
                                  "layers=[Dense(4, 'relu'), Dense(1)]" % (layers,))
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise LaminaTypeError("Net: layers[%d] %r is not a lamina layer" % (i, layer))
        if init is not None:
            _named(L.init_from_name, init, "init", _INITS)
        if threads:
            threads = _cint(threads, "Net: threads")
        h = ctypes.c_void_p()
        L.check(L.net_new(ctypes.byref(h), _cint(inputs, "Net: inputs")))
        self._init_handle(h)
        if input_shape is not None:
            L.check(L.net_set_input_shape(self._h, shp[2], shp[0], shp[1]))
        for layer in layers:
            L.check(layer._add(self._h))
        self.layers = layers
        if threads:
            self.threads = threads
        if self.layers and init is not None:
            self.init(init, seed)

    def _init_handle(self, h):
        self._own = _Handle(h)
        self._h = h
        self._tls = threading.local()
        # reentrant: fit holds it while it calls the callbacks, which may
        # evaluate or predict with the net (the trainer is idle then)
        self._lock = threading.RLock()
        # predictions running on workspaces, counted under _ws_lock, so the
        # threads setter never frees a workspace a thread is predicting with
        self._ws_lock = threading.Lock()
        self._ws_busy = 0

    # the thread count asked for (0: all cores), which pickling keeps: the
    # model file holds none, and a count read back from the library would
    # pin "all cores" to this machine's
    _threads_asked = 0

    @classmethod
    def _wrap(cls, h):
        self = cls.__new__(cls)
        self._init_handle(h)
        self.layers = [_layer_from_desc(self._desc(i)) for i in range(L.net_n_layers(h))]
        return self

    # -- shape and settings

    def _desc(self, i):
        d = L.lm_layer_desc()
        d.size = ctypes.sizeof(d)
        L.check(L.net_layer_desc(self._h, i, ctypes.byref(d)))
        return d

    @property
    def n_inputs(self):
        return L.net_n_in(self._h)

    @property
    def n_outputs(self):
        return L.net_n_out(self._h)

    @property
    def n_params(self):
        return L.net_n_params(self._h)

    @property
    def input_shape(self):
        """One sample's shape, channels last: (H, W, C), or (n_inputs,) when flat."""
        if not self.layers:
            return (self.n_inputs,)
        d = self._desc(0)
        return (d.in_c,) if d.in_h == 1 and d.in_w == 1 else (d.in_h, d.in_w, d.in_c)

    def _sample_shape(self):
        return self.input_shape

    @property
    def output_activation(self):
        return None if not self.layers else L.act_name(self._desc(len(self.layers) - 1).act).decode()

    @property
    def threads(self):
        return L.net_threads(self._h)

    @threads.setter
    def threads(self, n):
        n = _cint(n, "threads")
        # the count is fixed while a workspace exists: free them all, which
        # needs every other thread out of predict (and fit: _lock)
        with self._lock, self._ws_lock:
            if self._ws_busy:
                raise InvalidArgumentError("threads cannot change while another thread predicts "
                                           "with this net")
            self._own.free_ws()
            L.check(L.net_set_threads(self._h, n))
            self._threads_asked = n

    def init(self, init="xavier", seed=1):
        """Draws every parameter again from `init` with lm_rng_seed(seed)."""
        i = _named(L.init_from_name, init, "init", _INITS)
        rng = L.rng_seed(_seed(seed, "init: seed"))
        L.check(L.net_init(self._h, i, ctypes.byref(rng)))
        return self

    def summary(self):
        rows = []
        for i, layer in enumerate(self.layers):
            d = self._desc(i)
            rows.append("%-3d %-60r (%d, %d, %d) %d params" % (i, layer, d.out_h, d.out_w, d.out_c,
                                                               d.n_params))
        return "\n".join(rows + ["total %d parameters" % self.n_params])

    def __repr__(self):
        return "Net(inputs=%d, layers=%r)" % (self.n_inputs, self.layers)

    # -- normalisation, class names, metadata

    def set_normalization(self, mean=None, scale=None):
        """x' = (x - mean) * scale per input before the first layer (saved in
        the model, as the CLI's); None clears it."""
        if mean is None:
            L.check(L.net_set_norm(self._h, None, None))
            return
        m = _floats(mean, "set_normalization: mean")
        s = _floats(scale, "set_normalization: scale")
        if m.size != self.n_inputs or s.size != self.n_inputs:
            raise InvalidArgumentError("set_normalization: mean and scale need %d values"
                                       % self.n_inputs)
        L.check(L.net_set_norm(self._h, _ptr(m), _ptr(s)))

    def get_normalization(self):
        m = np.empty(self.n_inputs, np.float32)
        s = np.empty(self.n_inputs, np.float32)
        return (m, s) if L.net_get_norm(self._h, _ptr(m), _ptr(s)) else None

    def set_target_normalization(self, mean=None, std=None):
        """Regression: fit (y - mean) / std and predict in y's units (saved)."""
        if mean is None:
            L.check(L.net_set_target_norm(self._h, None, None))
            return
        m = _floats(mean, "set_target_normalization: mean")
        s = _floats(std, "set_target_normalization: std")
        # the library reads n_outputs values from each: check before it does
        if m.size != self.n_outputs or s.size != self.n_outputs:
            raise InvalidArgumentError("set_target_normalization: mean and std need %d values"
                                       % self.n_outputs)
        L.check(L.net_set_target_norm(self._h, _ptr(m), _ptr(s)))

    def get_target_normalization(self):
        m = np.empty(self.n_outputs, np.float32)
        s = np.empty(self.n_outputs, np.float32)
        return (m, s) if L.net_get_target_norm(self._h, _ptr(m), _ptr(s)) else None

    @property
    def class_names(self):
        # one sigmoid output may carry two classes (its value class 1's
        # probability): the library then holds a name past the outputs
        k = self.n_outputs
        names = [L.net_class_name(self._h, i) for i in range(max(k, 2))]
        if k == 1 and names[1] is None:
            names = names[:1]
        return None if names[0] is None else [n.decode() for n in names]

    @class_names.setter
    def class_names(self, names):
        if names is None:
            L.check(L.net_set_class_names(self._h, 0, None))
            return
        # a str is a sequence too: "cat" named three classes c, a and t
        if isinstance(names, (str, bytes)) or not hasattr(names, "__len__"):
            raise LaminaTypeError("class_names %r is not a list of names, one a class"
                                  % (names,))
        arr = (ctypes.c_char_p * len(names))(*[_ctext(n, "class name") for n in names])
        L.check(L.net_set_class_names(self._h, len(names), arr))

    def set_meta(self, key, value):
        """Sets metadata key to str(value); None removes the key."""
        v = None if value is None else _ctext(value, "metadata value")
        L.check(L.net_set_meta(self._h, _meta_key(key), v))

    def get_meta(self, key):
        v = L.net_get_meta(self._h, _meta_key(key))
        return None if v is None else v.decode()

    # -- parameters

    @property
    def params(self):
        """The flat parameter buffer as a float32 numpy VIEW: writing to it
        changes the net. It keeps the net alive; it is valid until layers change."""
        return self._view(L.net_params(self._h), self.n_params)

    @property
    def state(self):
        """The flat state buffer (batch norm's running statistics), a VIEW."""
        return self._view(L.net_state(self._h), L.net_n_state(self._h))

    def _view(self, addr, n):
        if not n:
            return np.zeros(0, np.float32)
        buf = (ctypes.c_float * n).from_address(addr)
        buf._owner = self._own  # the view keeps the C net alive
        return np.frombuffer(buf, np.float32)

    def get_weights(self, copy=True):
        """Keras' list: per layer its weights then bias (dense W (in, units),
        conv W (kh, kw, C, filters)), batch norm's gamma, beta, running mean
        and running variance. COPIES by default; copy=False gives views into
        the flat buffers (writing them changes the net)."""
        p, s, out = self.params, self.state, []
        for i in range(len(self.layers)):
            d = self._desc(i)
            o = d.p_offset
            if d.kind in (0, 1):
                fan_in = d.in_c * d.in_h * d.in_w if d.kind == 0 else d.kh * d.kw * d.in_c
                w = p[o:o + fan_in * d.units]
                out.append(w.reshape((fan_in, d.units) if d.kind == 0 else
                                     (d.kh, d.kw, d.in_c, d.units)))
                if d.has_bias:
                    out.append(p[o + fan_in * d.units:o + d.n_params])
            elif d.kind == 6:
                c = d.n_params // 2
                out += [p[o:o + c], p[o + c:o + 2 * c]]
                so, sc = d.s_offset, d.n_state // 2
                out += [s[so:so + sc], s[so + sc:so + 2 * sc]]
        return [a.copy() for a in out] if copy else out

    def set_weights(self, weights):
        """Copies arrays shaped as get_weights gives them into the net. Every
        array is checked (shape, finite numbers) before any is copied, so a
        refused list leaves the net as it was."""
        views = self.get_weights(copy=False)
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise LaminaTypeError("set_weights: weights is of type %s; give a list of arrays, as "
                                  "get_weights returns" % type(weights).__name__)
        if len(weights) != len(views):
            raise InvalidArgumentError("set_weights: %d arrays given, the net has %d"
                                       % (len(weights), len(views)))
        arrays = []
        for i, (v, w) in enumerate(zip(views, weights)):
            a = np.asarray(w)
            if a.dtype.kind not in "fiub":
                raise LaminaTypeError("set_weights: array %d has dtype %s; weights are numbers"
                                      % (i, a.dtype))
            with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused
                a = a.astype(np.float32)
            if a.shape != v.shape:
                raise InvalidArgumentError("set_weights: array %d has shape %s, expected %s"
                                           % (i, a.shape, v.shape))
            bad = np.argwhere(~np.isfinite(a))
            if len(bad):
                j = tuple(int(k) for k in bad[0])
                raise InvalidArgumentError("set_weights: array %d holds %s at index %s (float32 "
                                           "value of %r); weights must be finite"
                                           % (i, a[j], j if len(j) != 1 else j[0],
                                              np.asarray(w)[j]))
            arrays.append(a)
        for v, a in zip(views, arrays):
            v[...] = a

    # -- inference

    def _ws(self):
        # One workspace per Python thread: lm_net_predict_ws only reads the
        # net, so threads predict at once (the GIL is released in the call).
        w = getattr(self._tls, "ws", None)
        if w is None or w.p is None:
            w = self._tls.ws = _Workspace(self._own)
        return w.p

    def predict(self, X):
        """The net's outputs (n, n_outputs) as float32 for rows X (n, n_inputs)
        or samples (n, *input_shape); softmax outputs are probabilities."""
        x = as_rows(X, L.net_n_in(self._h), "predict", shape=self._sample_shape)
        n = x.shape[0]
        y = np.empty((n, L.net_n_out(self._h)), np.float32)
        xp, yp = x.__array_interface__["data"][0], y.__array_interface__["data"][0]
        # Many rows: the net's own thread pool, one caller at a time; else
        # (or when another thread has it) this thread's single-threaded
        # workspace.
        if n >= 512 and self._lock.acquire(blocking=False):
            try:
                st = L.net_predict(self._h, xp, n, yp)
            finally:
                self._lock.release()
        else:
            with self._ws_lock:
                self._ws_busy += 1
            try:
                w = getattr(self._tls, "ws", None)
                st = L.net_predict_ws(self._h, w.p if w is not None and w.p else self._ws(), xp,
                                      n, yp)
            finally:
                with self._ws_lock:
                    self._ws_busy -= 1
        if st:
            L.check(st)
        return y

    def predict_proba(self, X):
        """predict for nets whose output is probabilities (softmax or sigmoid)."""
        if self.output_activation not in ("softmax", "sigmoid"):
            raise InvalidArgumentError("predict_proba: the output layer is %s, not softmax or "
                                       "sigmoid" % self.output_activation)
        return self.predict(X)

    def predict_classes(self, X):
        """Class indices: argmax of the outputs (> 0.5 for a single output)."""
        p = self.predict(X)
        return (p[:, 0] > 0.5).astype(np.int64) if p.shape[1] == 1 else p.argmax(axis=1)

    # -- training

    def _default_loss(self):
        act = self.output_activation
        return "ce" if act == "softmax" else "bce" if act == "sigmoid" and self.n_outputs > 1 \
            else "mse"

    def _data(self, X, y, loss, what, keep):
        """An lm_data over X and y; keep collects the arrays it points into."""
        x = as_rows(X, self.n_inputs, what,
                    keep_u8=L.net_get_norm(self._h, None, None) == 1, shape=self._sample_shape)
        d = L.lm_data(n=x.shape[0], nx=x.shape[1], x=x.ctypes.data,
                      x_type=L.LM_U8 if x.dtype == np.uint8 else L.LM_F32)
        keep.append(x)
        if not x.shape[0]:  # (an empty validation set gave val_loss NaN every epoch)
            raise InvalidArgumentError("%s: X has no rows" % what)
        ya = _numbers(y)
        if ya.ndim == 0:
            raise InvalidArgumentError("%s: y is %r, not one target a row" % (what, y))
        if ya.shape[0] != x.shape[0]:
            raise InvalidArgumentError("%s: X has %d rows but y has %d" % (what, x.shape[0],
                                                                          ya.shape[0]))
        if ya.dtype.kind not in "fiub":
            raise LaminaTypeError("%s: y has dtype %s; give class indices or numbers "
                                  "(lamina.sklearn's estimators take string labels)%s"
                                  % (what, ya.dtype, _NOT_NUMBERS if ya.dtype == object else ""))
        k = self.n_outputs
        if ya.ndim == 2 and ya.shape[1] == 1 and loss == 3 and k > 1:
            # a column of class indices (df[["label"]].values, Keras'
            # sparse labels (n, 1)): one value a row cannot be k targets
            ya = ya[:, 0]
        # class indices held as floats (np.loadtxt, a pandas column that had
        # NaN) for "ce": one value a row cannot be k targets, and "y has 1
        # values per row; the net outputs k" blamed the net; 2.0 is class 2,
        # as 4.0 is 4 for a size
        float_labels = ya.ndim == 1 and ya.dtype.kind == "f" and loss == 3 and k > 1
        if float_labels:
            if not np.isfinite(ya).all():
                raise _not_finite(what, "y", ya, None)
            frac = ya != np.floor(ya)
            if frac.any():
                r = int(np.argmax(frac))
                raise InvalidArgumentError("%s: label %r at row %d is not a whole number (y "
                                           "holds class indices for 'ce')"
                                           % (what, float(ya[r]), r))
        if float_labels or (ya.ndim == 1 and ya.dtype.kind in "iub" and loss in (2, 3)
                            and not (k > 1 and loss == 2)):
            top = max(k, 2)
            # checked before the cast to int32, which would wrap 2**32 + 1 to 1
            if ya.size and (ya.min() < 0 or ya.max() >= top):
                r = int(np.argmax((ya < 0) | (ya >= top)))
                raise InvalidArgumentError("%s: label %s at row %d is outside [0, %d)"
                                           % (what, repr(float(ya[r])) if float_labels
                                              else "%d" % ya[r], r, top))
            lab = np.ascontiguousarray(ya, np.int32)
            d.labels, d.n_classes = lab.ctypes.data, top
            keep.append(lab)
        else:
            with np.errstate(over="ignore"):  # beyond float32: inf, refused below
                yf = np.ascontiguousarray(ya, np.float32).reshape(x.shape[0], -1)
            if yf.shape[1] != k:
                raise InvalidArgumentError("%s: y has %d values per row; the net outputs %d"
                                           % (what, yf.shape[1], k))
            if not np.isfinite(yf).all():
                raise _not_finite(what, "y", yf, ya)
            if loss == 2 and yf.size and (yf.min() < 0 or yf.max() > 1):
                # the library refuses them too (lm_fit, lm_evaluate); here before
                # normalize=True changes the net, naming the row as Python counts
                r, c = (int(v) for v in np.argwhere((yf < 0) | (yf > 1))[0])
                raise InvalidArgumentError("%s: y holds %r (row %d%s), outside [0, 1]: 'bce' "
                                           "targets are probabilities (or class indices 0 and "
                                           "1 as integers)" % (what, float(yf[r, c]), r,
                                                                 ", column %d" % c if k > 1 else ""))
            d.y, d.ny = yf.ctypes.data, k
            keep.append(yf)
        return d

    def _loss_id(self, loss):
        name = self._default_loss() if loss is None else loss
        return _named(L.loss_from_name, name, "loss", "sse, mse, bce, ce")

    def fit(self, X, y, epochs=10, batch_size=None, optimizer="adam", lr=None, loss=None,
            validation_data=None, callbacks=(), seed=1, threads=None, shuffle=True,
            momentum=None, weight_decay=0.0, clip_norm=0.0, lr_schedule="constant",
            early_stopping=0, normalize=False, verbose=0, class_weight=None,
            rprop_etas=None, rprop_step_sizes=None, lr_warmup=0, lr_factor=None,
            lr_patience=None, lr_threshold=None, lr_cooldown=None, lr_min=None):
        """Trains with the library's trainer (lm_train_epoch, one C call an epoch,
        the GIL released) and returns a History.

        X (n, n_inputs) or (n, *input_shape); y: class indices (n) for "ce"/"bce",
        else targets (n, n_outputs). epochs >= 1; verbose: a bool or a whole
        number >= 0 (true: a line an epoch). optimizer: sgd, momentum, nesterov, adam,
        adamw, rprop (iRprop-, FANN's default, as torch.optim.Rprop: etas and
        step_sizes are rprop_etas and rprop_step_sizes, None: torch's (0.5, 1.2)
        and (1e-6, 50), refused with another optimizer; a full-batch method);
        lr: 0.001 for adam/adamw, 0.01 for the SGD family and rprop (its first
        step size), as the CLI. batch_size: 32, or all the rows for rprop.
        loss: sse, mse, bce, ce (default: ce after softmax, else mse).
        callbacks: callables f(epoch, logs) or objects with on_epoch_end(epoch,
        logs); a true return stops training. early_stopping=N: stop after N
        epochs without a better val loss and keep the best epoch's parameters.
        normalize=True standardises inputs with X's statistics (uint8: x/255),
        stored in the net as the CLI does. class_weight: one weight a class
        (two for one sigmoid output), a sequence or, as Keras' class_weight,
        a dict {class index: weight} (the rest weigh 1): a row of class c
        counts w[c] times in the training loss (the batch's mean of w[c] *
        loss); needs y as class indices with "ce" or "bce"; validation losses
        stay unweighted. Ctrl-C stops after the current batch and raises
        KeyboardInterrupt with the net usable.

        lr_schedule: constant, cosine (toward lr_min over the epochs), step
        (x0.1 every 10 epochs) or plateau, torch's ReduceLROnPlateau (mode
        'min', relative threshold) on the val loss (the train loss without
        validation_data): after more than lr_patience (10) epochs without a
        loss below best * (1 - lr_threshold) (1e-4), the lr is multiplied by
        lr_factor (0.1), not below lr_min (0), and lr_cooldown (0) epochs
        follow in which bad epochs do not count. None: those defaults; the
        plateau's settings are refused with another schedule, lr_min with
        one other than cosine and plateau. lr_warmup=N: the first N epochs
        at lr * (e + 1) / (N + 1) (epoch e from 0, torch's LinearLR), then
        the schedule, counting the epochs after the warmup. The lr of each
        epoch is the History's "lr".
        """
        seed = _seed(seed, "fit: seed")
        # every setting is checked before any work (normalize, the data)
        lossid = self._loss_id(loss)
        if not isinstance(optimizer, str) or optimizer not in _OPTIMS:
            raise (InvalidArgumentError if isinstance(optimizer, str) else LaminaTypeError)(
                "unknown optimizer %r (%s)" % (optimizer, ", ".join(_OPTIMS)))
        kind, mom, nest = _OPTIMS[optimizer]
        o = L.lm_fit_opts()
        L.check(L.fit_opts_init(ctypes.byref(o), ctypes.sizeof(o)))
        o.loss = lossid
        o.optim.kind = kind
        o.optim.lr = _real(lr, "fit: lr") if lr is not None else (0.001 if kind in (1, 2) else 0.01)
        o.optim.momentum = _real(mom if momentum is None else momentum, "fit: momentum")
        o.optim.nesterov = nest
        o.optim.weight_decay = _real(weight_decay, "fit: weight_decay")
        o.optim.clip_norm = _real(clip_norm, "fit: clip_norm")
        # the CLI refuses --rprop-etas and --rprop-steps with another optimizer
        for k, v in (("rprop_etas", rprop_etas), ("rprop_step_sizes", rprop_step_sizes)):
            if v is not None and kind != 3:
                raise InvalidArgumentError("fit: %s is for optimizer='rprop' (this fit uses %r)"
                                           % (k, optimizer))
        try:  # None: the library's defaults
            if rprop_etas is not None:
                o.optim.eta_minus, o.optim.eta_plus = (_real(v, "") for v in rprop_etas)
            if rprop_step_sizes is not None:
                o.optim.step_min, o.optim.step_max = (_real(v, "") for v in rprop_step_sizes)
        except (TypeError, ValueError):
            raise InvalidArgumentError("fit: rprop_etas %r and rprop_step_sizes %r must be pairs "
                                       "of numbers" % (rprop_etas, rprop_step_sizes)) from None
        o.lr_schedule = _named(L.lr_schedule_from_name, lr_schedule, "lr_schedule",
                               "constant, cosine, step, plateau")
        plateau = (("lr_factor", lr_factor, _real), ("lr_patience", lr_patience, _cint),
                   ("lr_threshold", lr_threshold, _real), ("lr_cooldown", lr_cooldown, _cint),
                   ("lr_min", lr_min, _real))
        for k, v, conv in plateau:  # None: the library's defaults
            if v is None:
                continue
            if lr_schedule != "plateau" and not (k == "lr_min" and lr_schedule == "cosine"):
                raise InvalidArgumentError("fit: %s is for lr_schedule='plateau'%s (this fit "
                                           "uses %r)" % (k, " or 'cosine'" if k == "lr_min"
                                                         else "", lr_schedule))
            setattr(o, k, conv(v, "fit: " + k))
        o.lr_warmup = _cint(lr_warmup, "fit: lr_warmup")
        o.epochs = _cint(epochs, "fit: epochs")
        if o.epochs < 1:  # 0 trained nothing without a word; the CLI's --epochs is >= 1 too
            raise InvalidArgumentError("fit: epochs %d must be at least 1" % o.epochs)
        verbose = _verbosity(verbose, "fit: verbose")
        if batch_size is not None:
            batch_size = _whole(batch_size, "fit: batch_size")
            if batch_size < 1:
                raise InvalidArgumentError("fit: batch_size %d must be at least 1" % batch_size)
        o.shuffle = _flag(shuffle, "fit: shuffle")
        normalize = _flag(normalize, "fit: normalize")
        o.early_stop = _cint(early_stopping, "fit: early_stopping")
        callbacks = self._check_callbacks(callbacks)
        if threads is not None:
            threads = _cint(threads, "fit: threads")
        if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                            or len(validation_data) != 2):
            raise InvalidArgumentError("fit: validation_data is not a pair (X, y) (sample "
                                       "weights are not taken)")
        keep = []
        if class_weight is not None:
            cw = self._class_weights(class_weight)
            keep.append(cw)
            o.class_weights = cw.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            o.n_class_weights = _cint(cw.size, "fit: class_weight's length")
        old_norm = self.get_normalization() if normalize else None
        try:
            rows = self._normalize_from(X) if normalize else None
            # X converted once: the rows normalize read (float32) are the data
            d = self._data(X if rows is None else rows, y, lossid, "fit", keep)
            if validation_data is not None:
                val = self._data(validation_data[0], validation_data[1], lossid,
                                 "fit (validation)", keep)
                o.val = ctypes.pointer(val)
        except BaseException:
            # refused data: the net keeps the normalisation it had
            if normalize:
                self.set_normalization(*(old_norm or (None,)))
            raise
        if batch_size is None:  # RPROP is a full-batch method
            batch_size = d.n if optimizer == "rprop" else 32
        o.batch = max(1, min(batch_size, d.n))  # capped at the rows (none: the library says)
        # Ctrl-C: a flag the library reads after every batch (no callback,
        # so no GIL taken per batch while other Python threads run)
        stop = ctypes.c_int(0)
        o.stop = ctypes.pointer(stop)
        if threads is not None:
            self.threads = threads
        return self._run(o, d, stop, callbacks, seed, verbose)

    def _class_weights(self, cw):
        """fit's class_weight as float32s, one a class: a sequence, or Keras'
        dict {class index: weight} (classes not in it weigh 1). The library
        checks the count and the values."""
        if isinstance(cw, dict):
            k = max(self.n_outputs, 2)
            w = np.ones(k, np.float32)
            for c, v in cw.items():
                try:
                    i = _whole(c, "class")
                except (InvalidArgumentError, LaminaTypeError):
                    i = -1
                if not 0 <= i < k:
                    raise InvalidArgumentError("fit: class_weight: class %r is not a class of the "
                                               "net (0 to %d)" % (c, k - 1))
                try:
                    w[i] = _real(v, "fit: class_weight[%r]" % (c,))
                except LaminaTypeError:
                    raise InvalidArgumentError("fit: class_weight[%r] = %r is not a number"
                                               % (c, v)) from None
            return w
        if isinstance(cw, str):
            raise InvalidArgumentError("fit: class_weight %r: give one weight a class, as a list "
                                       "or a dict {class index: weight} (LaminaClassifier "
                                       "takes 'balanced')" % (cw,))
        try:
            return _floats(cw, "fit: class_weight")
        except (TypeError, ValueError):
            raise InvalidArgumentError("fit: class_weight %r is not one number a class"
                                       % (cw,)) from None

    def _normalize_from(self, X):
        """Sets the normalisation from X; returns X as float32 rows (as_rows),
        or None for uint8 X (kept as bytes)."""
        a = X if isinstance(X, np.ndarray) and X.dtype != object else _numbers(X)
        n_in = self.n_inputs
        if a.dtype == np.uint8:
            self.set_normalization(np.zeros(n_in), np.full(n_in, 1 / 255.0))
            return None
        x = as_rows(a, n_in, "fit", shape=self._sample_shape)
        m = np.empty(n_in, np.float32)
        s = np.empty(n_in, np.float32)
        d = L.lm_data(n=x.shape[0], nx=n_in, x=x.ctypes.data)
        L.check(L.data_norm_stats(ctypes.byref(d), _ptr(m), _ptr(s)))
        self.set_normalization(m, s)
        return x

    def _run(self, o, d, stop, callbacks, seed, verbose):
        hist = History()
        rng = L.rng_seed(seed)
        # On the main thread the epochs run in a helper thread, so that the
        # main thread, waiting, runs the SIGINT handler at once (Python runs
        # handlers on the main thread only, between bytecodes); the handler
        # sets the flag and the library stops after the current batch.
        # A process that ignores SIGINT (started in the background by a
        # shell script, say) keeps ignoring it: Ctrl-C was not meant for it.
        on_main = (threading.current_thread() is threading.main_thread() and
                   signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)
        old = None
        if on_main:
            def on_sigint(signum, frame):
                stop.value = 1
            old = signal.signal(signal.SIGINT, on_sigint)
        t = ctypes.c_void_p()
        runner = None
        try:
            with self._lock:
                L.check(L.train_new(ctypes.byref(t), self._h, ctypes.byref(o),
                                    ctypes.byref(rng)))
                try:
                    runner = _EpochRunner(t, d) if on_main else None
                    for _ in range(o.epochs):
                        info = L.lm_epoch_info()
                        if runner:
                            st, msg = runner.epoch(info)
                        else:
                            st = L.train_epoch(t, ctypes.byref(d), ctypes.byref(info))
                            msg = L.errmsg().decode("utf-8", "replace") if st else ""
                        if st == L.LM_ESTOPPED:
                            hist.stopped = True
                            break
                        if st:
                            L.raise_status(st, msg)
                        hist._add(info)
                        logs = _info_logs(info)
                        if verbose:
                            print("epoch %d/%d  loss %.6g%s" % (
                                info.epoch, info.epochs, info.train_loss,
                                "" if math.isnan(info.val_loss) else
                                "  val_loss %.6g" % info.val_loss))
                        # every epoch completed reaches the callbacks, the one
                        # Ctrl-C ends too (`stop.value or ...` skipped them when
                        # the signal came as the epoch ended)
                        if self._call_callbacks(callbacks, info.epoch, logs) or stop.value:
                            hist.stopped = True
                            break
                        if L.train_should_stop(t):
                            hist.stopped = True
                            break
                finally:
                    if runner:
                        runner.close()
                    hist.best_epoch = L.train_best(t, None)
                    L.train_restore_best(t)
                    L.train_free(t)
        finally:
            if on_main:
                signal.signal(signal.SIGINT, old)
        if stop.value:
            raise KeyboardInterrupt("lamina: fit stopped by Ctrl-C after %d complete epochs"
                                    % len(hist.epoch))
        return hist

    @staticmethod
    def _check_callbacks(callbacks):
        """callbacks as a list of callables or objects with on_epoch_end; a
        lone one is taken as a list of one (as Keras' fit takes it)."""
        if callbacks is None:
            return []
        if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
            return [callbacks]
        if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
            raise LaminaTypeError("fit: callbacks %r is not a list of callables f(epoch, logs) "
                                  "or objects with on_epoch_end(epoch, logs)" % (callbacks,))
        callbacks = list(callbacks)
        for i, cb in enumerate(callbacks):
            if not (hasattr(cb, "on_epoch_end") or callable(cb)):
                raise LaminaTypeError("fit: callbacks[%d] %r is neither a callable f(epoch, logs) "
                                      "nor an object with on_epoch_end(epoch, logs)" % (i, cb))
        return callbacks

    @staticmethod
    def _call_callbacks(callbacks, epoch, logs):
        stop = False
        for cb in callbacks or ():
            f = getattr(cb, "on_epoch_end", cb)
            if f(epoch, logs):
                stop = True
        return stop

    def evaluate(self, X, y, loss=None):
        """{"loss": ..., "accuracy": ...} on X, y (accuracy NaN for regression)."""
        lossid = self._loss_id(loss)
        keep = []
        d = self._data(X, y, lossid, "evaluate", keep)
        lo, acc = ctypes.c_float(), ctypes.c_float()
        with self._lock:
            L.check(L.evaluate(self._h, ctypes.byref(d), lossid, ctypes.byref(lo),
                               ctypes.byref(acc)))
        return {"loss": float(lo.value), "accuracy": float(acc.value)}

    # -- files

    def save(self, path):
        """Writes the model file (the CLI's .lmn), atomically."""
        L.check(L.net_save(self._h, os.fsencode(path)))

    @classmethod
    def load(cls, path):
        """Reads a model file written by save or by `lamina train`."""
        h = ctypes.c_void_p()
        L.check(L.net_load(ctypes.byref(h), os.fsencode(path)))
        return cls._wrap(h)

    def save_onnx(self, path, opset=13):
        """Writes the net as an ONNX model (`lamina export --format onnx`):
        input "input" (N, inputs), output "output", what predict gives;
        opset 13 to 17. Atomically."""
        L.check(L.net_save_onnx(self._h, os.fsencode(path), _cint(opset, "save_onnx: opset")))

    @classmethod
    def load_onnx(cls, path):
        """An ONNX model whose graph is a chain of lamina's layers (what
        torch.onnx.export writes for a sequential MLP or CNN, Keras through
        tf2onnx, or save_onnx), as `lamina import` reads it; the notes that
        command prints (a layout guessed, a LogSoftmax read as softmax) are
        in get_meta("onnx_input_layout"), ("onnx_batch"), ("onnx_output")."""
        h = ctypes.c_void_p()
        L.check(L.net_load_onnx(ctypes.byref(h), os.fsencode(path)))
        return cls._wrap(h)

    @classmethod
    def load_fann(cls, path):
        """A FANN float net (fann_save's file), as `lamina import` reads it;
        stepwise sigmoids read as the sigmoids they approximate are said in
        get_meta("fann_stepwise")."""
        h = ctypes.c_void_p()
        L.check(L.net_load_fann(ctypes.byref(h), os.fsencode(path)))
        return cls._wrap(h)

    def to_bytes(self):
        """The model file's bytes (through a temporary file: the library
        writes files atomically)."""
        fd, tmp = tempfile.mkstemp(suffix=".lmn")
        os.close(fd)
        try:
            self.save(tmp)
            with open(tmp, "rb") as f:
                return f.read()
        finally:
            os.unlink(tmp)

    @classmethod
    def from_bytes(cls, b):
        h = ctypes.c_void_p()
        b = bytes(b)
        L.check(L.net_load_mem(ctypes.byref(h), b, len(b)))
        return cls._wrap(h)

    def copy(self):
        h = ctypes.c_void_p()
        L.check(L.net_clone(ctypes.byref(h), self._h))
        c = Net._wrap(h)
        c._threads_asked = self._threads_asked
        return c

    def __getstate__(self):
        return {"model": self.to_bytes(), "threads": self._threads_asked}

    def __setstate__(self, state):
        h = ctypes.c_void_p()
        b = state["model"]
        L.check(L.net_load_mem(ctypes.byref(h), b, len(b)))
        self._init_handle(h)
        self.layers = [_layer_from_desc(self._desc(i)) for i in range(L.net_n_layers(h))]
        if state.get("threads"):  # (pickles from before it was kept have none)
            self.threads = state["threads"]

