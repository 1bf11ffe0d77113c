"""Many configurations of one MLP trained in one program, the configuration axis last.

A sweep's configurations that share a structure and their data (the usual case: rates,
decays, scales, EMA decays, seeds of the initial weights) train together. ``jax.vmap``
of the single-run step does that, but puts the configuration axis first, and XLA:CPU
then runs every product as a loop of tiny matrix products, one per configuration. Here
every parameter carries the configurations in its *last* axis ("lanes": ``w1`` is
``[fan_in, fan_out, C]``), so

- every layer is a multiply-sum whose innermost, contiguous axis is C, the shared input
  rows of the first layer broadcast over the configurations, and its gradient is written in
  the form XLA:CPU vectorizes (:func:`lanes_dense`);
- the optimizer, the schedule and the moving average are elementwise, their per-configuration
  numbers (shape ``[C]``) broadcasting against ``[..., C]``.

The gradient is ``jax.grad`` of the sum of the configurations' objectives: configuration c's
parameters enter only its own term, so each lane receives exactly its own gradient. The
loss, the penalty and the full-data metrics are the single run's functions under
``jax.vmap`` (they are small next to the network).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnopt.core.losses import LOSSES
from nnopt.core.model import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nnopt.core.regularizers import weight_penalty
from nnopt.engine.compilation import kept_program
from nnopt.engine.step import (
    TrainState,
    apply_update,
    evaluate_state,
    first_order,
    next_order,
    optimizer_init,
    select_batch,
    started,
    weights_of,
)
from nnopt.engine.structure import Structure, unflatten

# ------------------------------------------------------------------ the layer kernels

UNROLL = 48  # sums over at most this many terms are written out (see lanes_dense)


def _sum_over(terms: int, term: Callable[[int], jax.Array], stacked: Callable[[], jax.Array]):
    """Σ_t term(t), written out term by term for short sums, else ``stacked()`` summed."""
    if terms <= UNROLL:
        total = term(0)
        for t in range(1, terms):
            total = total + term(t)
        return total
    return stacked()


def _rows_in(h: jax.Array) -> jax.Array:
    """``h`` as [rows, fan_in, C or 1]: shared inputs broadcast over the configurations."""
    return h[:, :, None] if h.ndim == 2 else h


@jax.custom_vjp
def lanes_dense(h: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    """z[r,j,c] = Σ_i h[r,i,c]·w[i,j,c] + b[j,c] (``h`` may be shared: [rows, fan_in]).

    XLA:CPU vectorizes elementwise work along the contiguous configuration axis, but emits a
    reduction over the leading (row) axis one output at a time, several times slower. So the
    gradient's sums over rows are written out as sums of whole slices (by hand, below), and so
    is the product of the shared input. A deeper layer's product stays a reduction: XLA then
    stores its result once, where a written-out sum would be recomputed inside each consumer
    of the gradient.
    """
    hb = _rows_in(h)
    if h.ndim == 3:
        return b + jnp.sum(hb[:, :, None, :] * w[None], axis=1)
    return b + _sum_over(
        w.shape[0],
        lambda i: hb[:, i, None, :] * w[i][None],
        lambda: jnp.sum(hb[:, :, None, :] * w[None], axis=1),
    )


def _lanes_dense_fwd(h, w, b):
    return lanes_dense(h, w, b), (h, w)


def _lanes_dense_bwd(saved, dz):
    """dh = Σ_j dz[:,j]·w[:,j], dw = Σ_r h[r]ᵀ·dz[r], db = Σ_r dz[r]."""
    h, w = saved
    hb = _rows_in(h)
    rows = dz.shape[0]
    dw = _sum_over(
        rows,
        lambda r: hb[r, :, None, :] * dz[r][None],
        lambda: jnp.sum(hb[:, :, None, :] * dz[:, None], axis=0),
    )
    db = _sum_over(rows, lambda r: dz[r], lambda: jnp.sum(dz, axis=0))
    if h.ndim == 2:  # shared data: no gradient flows into it
        return None, dw, db
    dh = _sum_over(
        w.shape[1],
        lambda j: dz[:, None, j, :] * w[None, :, j, :],
        lambda: jnp.sum(dz[:, None] * w[None], axis=2),
    )
    return dh, dw, db


lanes_dense.defvjp(_lanes_dense_fwd, _lanes_dense_bwd)


def lanes_logits(params: dict, x: jax.Array, activation: str) -> jax.Array:
    """The MLP before its output activation for C configurations at once, ``[rows, outputs, C]``.

    Parameters carry the configurations last (``wk: [fan_in, fan_out, C]``, ``bk: [fan_out, C]``)
    and ``x`` ([rows, features]) is shared: z = f(...f(x W1 + b1)...) Wk + bk per configuration.
    """
    n_layers = sum(1 for name in params if name.startswith("w"))
    hidden = ACTIVATIONS[activation]
    z = x
    for k in range(1, n_layers + 1):
        w = params[f"w{k}"]
        b = params.get(f"b{k}", jnp.zeros(w.shape[1:], w.dtype))
        z = lanes_dense(z if k == 1 else hidden(z), w, b)
    return z


# XLA:CPU's YNNPACK reductions are slow for the short middle-axis sums of the lanes layout;
# its own reduction loops are several times faster there. And on a CPU with 512-bit vectors
# (AVX-512), vectors of 16 lanes make a step of 32 configurations a third faster
# (bench_sweep); elementwise work rounds the same at any vector width. Only this program
# asks for these.
LANES_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT",
    "xla_cpu_prefer_vector_width": 512,
}


class LanesState(NamedTuple):
    """A batch's training state with every parameter-shaped array as ``{name: [*shape, C]}``."""

    step: jax.Array  # int32, shared: the configurations advance together
    params: dict
    opt_state: Any
    ema_params: dict


# Lanes win for small networks (the lecture's 2-11-1: 1/5 of vmap's time per configuration)
# and lose for wide ones, where XLA recomputes a layer's gradient inside every fan-in
# product while vmap's real matrix products get large enough to pay (bench_sweep; a 2-32-32-1
# network is 2-4x slower in lanes, the digits 64-128-10 one 3x).
LANES_FIRST_FAN_IN = 8  # inputs of the first layer
LANES_MAX_PRODUCT = 256  # fan_in · fan_out of every later layer


def supports(structure: Structure, shared_data: bool, shuffle_seeds: np.ndarray) -> bool:
    """Whether a batch trains in lanes: a small MLP (see above), one dataset, and the same rows
    in every configuration's batches (cyclic slices, or shuffled with one seed)."""
    layers = structure.layers
    small = layers[0] <= LANES_FIRST_FAN_IN and all(
        a * b <= LANES_MAX_PRODUCT for a, b in zip(layers[1:-1], layers[2:])
    )
    same_rows = structure.batching == "cyclic" or len(set(np.asarray(shuffle_seeds).tolist())) == 1
    return structure.model == "mlp" and small and shared_data and same_rows


# ------------------------------------------------------------------ layouts


def to_lanes(flat, structure: Structure, xp=np) -> dict:
    """``[C, n]`` flat parameters -> ``{name: [*shape, C]}``: on the host with ``xp = np``
    (once per batch), inside compiled code with ``xp = jnp``."""
    named = unflatten(flat if xp is jnp else np.asarray(flat), structure)
    return {k: xp.moveaxis(v, 0, -1) for k, v in named.items()}


def from_lanes(params: dict, structure: Structure, xp=jnp):
    """``{name: [*shape, C]}`` -> ``[C, n]`` flat parameters (the inverse of :func:`to_lanes`):
    inside compiled code with ``xp = jnp``, on the host with ``xp = np``."""
    parts = [params[name] for name, _ in structure.param_shapes]
    size = parts[0].shape[-1]
    return xp.concatenate([xp.moveaxis(p, -1, 0).reshape(size, -1) for p in parts], axis=1)


def _param_sized(structure: Structure) -> Callable[[Any], bool]:
    n = structure.n_params
    return lambda leaf: hasattr(leaf, "ndim") and leaf.ndim == 2 and leaf.shape[1] == n


def opt_state_to_lanes(opt_state, structure: Structure, xp=np):
    """Optimizer moments (``[C, n]``, shaped like the parameters) as lanes dicts; the
    optimizer's per-configuration scalars (count, numbers) stay ``[C]``."""
    is_vector = _param_sized(structure)
    return jax.tree_util.tree_map(
        lambda leaf: to_lanes(leaf, structure, xp) if is_vector(leaf) else leaf, opt_state
    )


def state_to_lanes(state: TrainState, structure: Structure) -> LanesState:
    """A config-first batched :class:`TrainState` (``[C, n]`` vectors, ``[C]`` scalars) in
    lanes, on the host (see :func:`opt_state_to_lanes`)."""
    return LanesState(
        state.step,
        to_lanes(state.params, structure),
        opt_state_to_lanes(state.opt_state, structure),
        to_lanes(state.ema_params, structure),
    )


def lanes_optimizer_init(structure: Structure, numbers: dict, params: dict):
    """Every configuration's optimizer ``init`` (on its flat parameters, as a single run's),
    laid out in lanes."""
    flat = from_lanes(params, structure)
    init = jax.vmap(lambda f, n: optimizer_init(structure, {"optimizer": n}, f))
    return opt_state_to_lanes(init(flat, numbers["optimizer"]), structure, jnp)


def state_from_lanes(state: LanesState, structure: Structure) -> TrainState:
    """The inverse of :func:`state_to_lanes`."""
    names = {name for name, _ in structure.param_shapes}

    def is_lanes(x):
        return isinstance(x, dict) and set(x) == names

    opt_state = jax.tree_util.tree_map(
        lambda leaf: from_lanes(leaf, structure) if is_lanes(leaf) else leaf,
        state.opt_state,
        is_leaf=is_lanes,
    )
    return TrainState(
        state.step,
        from_lanes(state.params, structure),
        opt_state,
        from_lanes(state.ema_params, structure),
    )


# ------------------------------------------------------------------ the step


def _rows_numbers(numbers: dict) -> dict:
    """The numbers that pick the batch rows: the same for every configuration (see
    :func:`supports`), so the first one's."""
    return {"shuffle_seed": numbers["shuffle_seed"][0]}


def lanes_step(structure: Structure, data, numbers: dict, state: LanesState, order=None):
    """One update of every configuration (numbers are ``[C]``); the lanes twin of
    :func:`nnopt.engine.step.train_step`, sharing its update (:func:`apply_update`). Returns the new state and per-configuration
    (data loss, regularization, learning rate), each ``[C]``."""
    k = state.step
    x, y_, weights = select_batch(structure, data, k, _rows_numbers(numbers), order)
    loss_fn = LOSSES[structure.loss].fn
    out_fn = OUTPUT_ACTIVATIONS[structure.output_activation]

    def one(z, params, nums):  # one configuration: z [B, outputs]
        return loss_fn(out_fn(z), y_, weights, nums), weight_penalty(params, nums)

    def objective(params):
        z = lanes_logits(params, x, structure.activation)
        data_loss, penalty = jax.vmap(one, in_axes=(-1, -1, 0))(z, params, numbers)
        return jnp.sum(data_loss + penalty), (data_loss, penalty)

    grads, (data_loss, penalty) = jax.grad(objective, has_aux=True)(state.params)
    state, lr = apply_update(structure, numbers, state, grads)
    return state, (data_loss, penalty, lr)


def run_lanes_chunk(
    structure: Structure,
    capacity: int,
    data,
    numbers: dict,
    state: LanesState,
    length: jax.Array,
    start: jax.Array,
):
    """``length`` updates of every configuration, then each one's full-data metrics.

    The lanes twin of :func:`nnopt.engine.step.run_chunk` (``start`` runs the optimizers'
    init first): per-update values come back as ``[C, capacity]``, metrics as ``{name: [C]}``.
    """
    size = numbers["learning_rate"].shape[0]
    rows = _rows_numbers(numbers)
    fresh = lanes_optimizer_init(structure, numbers, state.params)
    state = state._replace(opt_state=started(start, fresh, state.opt_state))

    def body(i, carry):
        state, buffers, order = carry
        order = next_order(structure, rows, state.step, order)
        state, values = lanes_step(structure, data, numbers, state, order)
        return state, tuple(b.at[i].set(v) for b, v in zip(buffers, values)), order

    empty = tuple(jnp.zeros((capacity, size), jnp.float32) for _ in range(3))
    start = (state, empty, first_order(structure, rows, state.step))
    state, per_step, _ = jax.lax.fori_loop(0, length, body, start)
    evaluated = dataclasses.replace(structure, products="dot")

    def metrics(nums, flat, shadow):
        return evaluate_state(evaluated, data, nums, TrainState(state.step, flat, None, shadow))

    flat, shadow = from_lanes(state.params, structure), from_lanes(state.ema_params, structure)
    after = jax.vmap(metrics)(numbers, flat, shadow)
    return state, tuple(b.T for b in per_step), after


@kept_program
def compiled_lanes_chunk(structure: Structure, capacity: int) -> Callable:
    """The jitted :func:`run_lanes_chunk` (compiled once per structure and capacity)."""
    fn = functools.partial(run_lanes_chunk, structure, capacity)
    return _with_fallback(jax.jit(fn, compiler_options=LANES_COMPILER_OPTIONS), jax.jit(fn))


def _with_fallback(preferred: Callable, plain: Callable) -> Callable:
    """``preferred``; or, for good, ``plain`` if this XLA does not know the preferred options
    (it answers "No such compile option" or "not a valid enum value")."""
    chosen: list[Callable] = []

    def call(*args):
        if chosen:
            return chosen[0](*args)
        try:
            out = preferred(*args)
        except jax.errors.JaxRuntimeError as err:
            if "option" not in str(err):
                raise
            chosen.append(plain)
            return plain(*args)
        chosen.append(preferred)
        return out

    return call


def flat_params(state: LanesState, structure: Structure, which: str = "raw") -> np.ndarray:
    """``[C, n]`` float32 parameters (or EMA shadow) of a lanes state, on the host."""
    params = weights_of(state, which)
    return from_lanes({k: np.asarray(v) for k, v in params.items()}, structure, xp=np)
