"""The C library through ctypes: its structs, prototypes and status codes.

ctypes rather than a CPython extension: liblamina.so is built by the same
Makefile (same per-file ISA flags and run-time CPU dispatch), no Python
headers are needed to build, one wheel serves every CPython 3, and ctypes.CDLL
releases the GIL on every foreign call, so training and prediction run while
other Python threads do. The price is a few hundred nanoseconds a call, which
bench/PYTHON.md measures.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_char_p, c_double, c_float, c_int,
                    c_int32, c_size_t, c_uint64, c_void_p)

from .errors import raise_status  # noqa: F401 (also used as L.raise_status)

# LAMINA_LIBRARY overrides the bundled library (the tests point it at the
# build folder of `make`).
_path = os.environ.get("LAMINA_LIBRARY") or os.path.join(os.path.dirname(__file__), "liblamina.so")
lib = ctypes.CDLL(_path)

LM_OK, LM_EINVAL, LM_ENOMEM, LM_EIO, LM_EFORMAT, LM_ENUMERIC, LM_ESTOPPED = range(7)
LM_F32, LM_U8 = 0, 1
LM_PAD_SAME, LM_PAD_VALID = -1, -2


class lm_rng(Structure):
    _fields_ = [("s", c_uint64 * 4)]


class lm_optim_opts(Structure):
    _fields_ = [("kind", c_int), ("lr", c_float), ("momentum", c_float), ("nesterov", c_int),
                ("beta1", c_float), ("beta2", c_float), ("eps", c_float),
                ("weight_decay", c_float), ("clip_norm", c_float),
                # appended in 1.4: RPROP's
                ("eta_minus", c_float), ("eta_plus", c_float),
                ("step_min", c_float), ("step_max", c_float)]


class _optim_room(Union):
    _fields_ = [("optim", lm_optim_opts), ("room", c_uint64 * 16)]


class lm_data(Structure):
    _fields_ = [("n", c_size_t), ("nx", c_int), ("x_type", c_int), ("x", c_void_p),
                ("labels", c_void_p), ("n_classes", c_int), ("y", c_void_p), ("ny", c_int),
                ("class_names", c_void_p), ("feature_names", c_void_p), ("owned_", c_void_p)]


class lm_epoch_info(Structure):
    _fields_ = [("epoch", c_int), ("epochs", c_int), ("train_loss", c_float),
                ("train_acc", c_float), ("val_loss", c_float), ("val_acc", c_float),
                ("seconds", c_double), ("step", c_uint64), ("lr", c_float)]


class lm_batch_info(Structure):
    _fields_ = [("epoch", c_int), ("batch", c_size_t), ("n_batches", c_size_t),
                ("samples", c_size_t), ("loss", c_float)]


EPOCH_CB = CFUNCTYPE(c_int, POINTER(lm_epoch_info), c_void_p)
BATCH_CB = CFUNCTYPE(c_int, POINTER(lm_batch_info), c_void_p)


class lm_fit_opts(Structure):
    _anonymous_ = ("u",)
    _fields_ = [("size", c_size_t), ("loss", c_int), ("u", _optim_room),
                ("lr_schedule", c_int), ("lr_min", c_float), ("lr_step", c_int),
                ("lr_gamma", c_float), ("epochs", c_int), ("batch", c_size_t),
                ("shuffle", c_int), ("val", POINTER(lm_data)), ("early_stop", c_int),
                ("on_epoch", EPOCH_CB), ("on_batch", BATCH_CB), ("ctx", c_void_p),
                ("stop", POINTER(c_int)),  # appended in 1.1
                ("shards", c_int), ("shard", c_int), ("on_grads", c_void_p),
                ("grads_ctx", c_void_p),
                ("on_reduce", c_void_p), ("reduce_ctx", c_void_p),  # appended in 1.2
                ("class_weights", POINTER(c_float)), ("n_class_weights", c_int),  # 1.3
                ("lr_factor", c_float), ("lr_patience", c_int), ("lr_threshold", c_float),
                ("lr_cooldown", c_int), ("lr_warmup", c_int)]  # 1.8


class lm_layer_desc(Structure):
    _fields_ = [("size", c_size_t), ("kind", c_int), ("act", c_int), ("has_bias", c_int),
                ("in_c", c_int), ("in_h", c_int), ("in_w", c_int),
                ("out_c", c_int), ("out_h", c_int), ("out_w", c_int), ("units", c_int),
                ("kh", c_int), ("kw", c_int), ("stride", c_int), ("pad", c_int),
                ("rate", c_float), ("momentum", c_float), ("eps", c_float),
                ("p_offset", c_size_t), ("n_params", c_size_t),
                ("s_offset", c_size_t), ("n_state", c_size_t)]


P = c_void_p  # opaque lm_net *, lm_train *, lm_ws *
_S = c_int    # lm_status


def _fn(name, res, *args):
    f = getattr(lib, name)
    f.restype = res
    f.argtypes = list(args)
    return f


errmsg = _fn("lm_errmsg", c_char_p)
version = _fn("lm_version", c_char_p)
status_name = _fn("lm_status_name", c_char_p, c_int)
rng_seed = _fn("lm_rng_seed", lm_rng, c_uint64)
act_from_name = _fn("lm_act_from_name", c_int, c_char_p)
act_name = _fn("lm_act_name", c_char_p, c_int)
loss_from_name = _fn("lm_loss_from_name", c_int, c_char_p)
loss_name = _fn("lm_loss_name", c_char_p, c_int)
optim_from_name = _fn("lm_optim_from_name", c_int, c_char_p)
init_from_name = _fn("lm_init_from_name", c_int, c_char_p)
lr_schedule_from_name = _fn("lm_lr_schedule_from_name", c_int, c_char_p)

net_new = _fn("lm_net_new", _S, POINTER(P), c_int)
net_free = _fn("lm_net_free", None, P)
net_clone = _fn("lm_net_clone", _S, POINTER(P), P)
net_set_input_shape = _fn("lm_net_set_input_shape", _S, P, c_int, c_int, c_int)
net_add_dense = _fn("lm_net_add_dense", _S, P, c_int, c_int, c_int)
net_add_conv2d = _fn("lm_net_add_conv2d", _S, P, c_int, c_int, c_int, c_int, c_int, c_int, c_int)
net_add_maxpool2d = _fn("lm_net_add_maxpool2d", _S, P, c_int, c_int)
net_add_avgpool2d = _fn("lm_net_add_avgpool2d", _S, P, c_int, c_int)
net_add_global_avgpool = _fn("lm_net_add_global_avgpool", _S, P)
net_add_dropout = _fn("lm_net_add_dropout", _S, P, c_float)
net_add_batchnorm = _fn("lm_net_add_batchnorm", _S, P, c_float, c_float)
net_add_activation = _fn("lm_net_add_activation", _S, P, c_int)
net_init = _fn("lm_net_init", _S, P, c_int, POINTER(lm_rng))
net_n_in = _fn("lm_net_n_in", c_int, P)
net_n_out = _fn("lm_net_n_out", c_int, P)
net_n_layers = _fn("lm_net_n_layers", c_int, P)
net_n_params = _fn("lm_net_n_params", c_size_t, P)
net_layer_desc = _fn("lm_net_layer_desc", _S, P, c_int, POINTER(lm_layer_desc))
net_params = _fn("lm_net_params", c_void_p, P)
net_n_state = _fn("lm_net_n_state", c_size_t, P)
net_state = _fn("lm_net_state", c_void_p, P)
net_set_norm = _fn("lm_net_set_norm", _S, P, c_void_p, c_void_p)
net_get_norm = _fn("lm_net_get_norm", c_int, P, c_void_p, c_void_p)
net_set_target_norm = _fn("lm_net_set_target_norm", _S, P, c_void_p, c_void_p)
net_get_target_norm = _fn("lm_net_get_target_norm", c_int, P, c_void_p, c_void_p)
net_set_class_names = _fn("lm_net_set_class_names", _S, P, c_int, POINTER(c_char_p))
net_class_name = _fn("lm_net_class_name", c_char_p, P, c_int)
net_set_meta = _fn("lm_net_set_meta", _S, P, c_char_p, c_char_p)
net_get_meta = _fn("lm_net_get_meta", c_char_p, P, c_char_p)
net_set_threads = _fn("lm_net_set_threads", _S, P, c_int)
net_threads = _fn("lm_net_threads", c_int, P)
net_predict = _fn("lm_net_predict", _S, P, c_void_p, c_size_t, c_void_p)
ws_new = _fn("lm_ws_new", _S, POINTER(P), P, c_size_t)
ws_free = _fn("lm_ws_free", None, P)
net_predict_ws = _fn("lm_net_predict_ws", _S, P, P, c_void_p, c_size_t, c_void_p)
net_save = _fn("lm_net_save", _S, P, c_char_p)
net_load = _fn("lm_net_load", _S, POINTER(P), c_char_p)
net_load_mem = _fn("lm_net_load_mem", _S, POINTER(P), c_char_p, c_size_t)
net_save_onnx = _fn("lm_net_save_onnx", _S, P, c_char_p, c_int)
net_load_onnx = _fn("lm_net_load_onnx", _S, POINTER(P), c_char_p)
net_load_fann = _fn("lm_net_load_fann", _S, POINTER(P), c_char_p)
fit_opts_init = _fn("lm_fit_opts_init", _S, POINTER(lm_fit_opts), c_size_t)
train_new = _fn("lm_train_new", _S, POINTER(P), P, POINTER(lm_fit_opts), POINTER(lm_rng))
train_free = _fn("lm_train_free", None, P)
train_epoch = _fn("lm_train_epoch", _S, P, POINTER(lm_data), POINTER(lm_epoch_info))
train_should_stop = _fn("lm_train_should_stop", c_int, P)
train_restore_best = _fn("lm_train_restore_best", c_int, P)
train_best = _fn("lm_train_best", c_int, P, POINTER(lm_epoch_info))
evaluate = _fn("lm_evaluate", _S, P, POINTER(lm_data), c_int, POINTER(c_float), POINTER(c_float))
data_norm_stats = _fn("lm_data_norm_stats", _S, POINTER(lm_data), c_void_p, c_void_p)
data_free = _fn("lm_data_free", None, POINTER(lm_data))
fann_data_read = _fn("lm_fann_data_read", _S, POINTER(lm_data), c_char_p)


def check(st):
    """Raises the exception class of a failed status with lamina's message."""
    if st:
        raise_status(st, errmsg().decode("utf-8", "replace"))


def name(b):
    return b.encode() if isinstance(b, str) else b


__all__ = ["lib", "check"]
