"""The compiled step (the lecture's ``backward``): one update, and a chunk of them in one loop.

:func:`apply_update` is the lecture's update, shared by the single run (:func:`train_step`)
and the lanes of a sweep (:func:`nnopt.engine.lanes.lanes_step`): the rate of step k from
the schedule, the optimizer's move, then the moving average. :func:`run_chunk` runs
``length`` updates as one ``jax.lax.fori_loop`` and evaluates the full train/test data at its
end: a log point. Shapes and names (the :class:`~nnopt.engine.structure.Structure`) are
compiled in; every number is an array argument, so changing a number never recompiles and
many configurations can share one program.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from nnopt.core.ema import training_shadow
from nnopt.core.losses import LOSSES
from nnopt.core.optimizers import default_numbers, make_optimizer
from nnopt.core.regularizers import weight_penalty
from nnopt.core.schedules import exponential_decay
from nnopt.engine.compilation import kept_program
from nnopt.engine.evaluate import forward, metrics_of
from nnopt.engine.structure import Structure, unflatten

WEIGHTS = ("raw", "ema")  # the parameters themselves, or their moving average (the shadow)


class TrainState(NamedTuple):
    """Everything that changes during training (all arrays, so it can be checkpointed)."""

    step: jax.Array  # int32: updates done so far (TF1's global_step)
    params: jax.Array  # flat float32 parameters
    opt_state: Any  # the Optax state, with the optimizer's numbers injected
    ema_params: jax.Array  # flat float32 shadow (equal to the initial params when EMA is off)


def weights_of(state, which: str = "raw"):
    """The ``raw`` parameters of a state or their ``ema`` shadow (any state with both fields)."""
    if which not in WEIGHTS:
        raise ValueError(f"weights {which!r}: choose raw or ema")
    return state.ema_params if which == "ema" else state.params


# ------------------------------------------------------------------ batches


def select_batch(structure: Structure, data, step, numbers, order=None):
    """Rows of update ``step``: (x, y_, weights), weights 0 for padding past the end of the data.

    cyclic: the lecture's ``X[(step·B) % N : (step·B) % N + B]`` (a slice, so the last one of
    an epoch may be short). shuffle: epoch ``e = step // ceil(N/B)`` reads
    :func:`epoch_order` of ``e``; a training loop passes it in as ``order`` (drawn once per
    epoch, see :func:`next_order`), else it is drawn here.
    """
    b, n = structure.batch_size, structure.n_train
    if structure.batching == "cyclic" and n % b == 0:
        j = step % (n // b)
        return data.x_batches[j], data.y_batches[j], jnp.ones((b,), jnp.float32)
    if structure.batching == "cyclic":
        # (step·B) % N, with the step first reduced by the slices' period so step·B cannot overflow.
        start = ((step % (n // math.gcd(n, b))) * b) % n
        x = jax.lax.dynamic_slice_in_dim(data.x_batches, start, b)
        y = jax.lax.dynamic_slice_in_dim(data.y_batches, start, b)
        return x, y, ((start + jnp.arange(b)) < n).astype(jnp.float32)
    per_epoch = batches_per_epoch(structure)
    if order is None:
        order = epoch_order(structure, numbers, step // per_epoch)
    rows = jax.lax.dynamic_slice_in_dim(order, (step % per_epoch) * b, b)
    return data.x_batches[rows], data.y_batches[rows], (rows < n).astype(jnp.float32)


def batches_per_epoch(structure: Structure) -> int:
    """ceil(N / B): an epoch's batches, the last one short when B does not divide N."""
    return -(-structure.n_train // structure.batch_size)


def epoch_order(structure: Structure, numbers: dict, epoch):
    """The rows of shuffled epoch ``epoch``: a permutation of 0..N-1 drawn from
    (``train.seed``, epoch), then B entries N (rows past the end, weight 0)."""
    n, b = structure.n_train, structure.batch_size
    key = jax.random.fold_in(jax.random.PRNGKey(numbers["shuffle_seed"].astype(jnp.uint32)), epoch)
    return jnp.concatenate([jax.random.permutation(key, n), jnp.full((b,), n)])


def first_order(structure: Structure, numbers: dict, step):
    """The order a training loop starting at ``step`` carries: the epoch's rows when
    shuffling (any step, so a resumed run continues its epoch), else a placeholder."""
    if structure.batching != "shuffle":
        return jnp.zeros((), jnp.int32)
    return epoch_order(structure, numbers, step // batches_per_epoch(structure))


def next_order(structure: Structure, numbers: dict, step, order):
    """The order for update ``step``: drawn anew when the step opens an epoch, else kept.
    (Drawing a permutation costs far more than an update of the lecture's networks.)"""
    if structure.batching != "shuffle":
        return order
    per_epoch = batches_per_epoch(structure)
    return jax.lax.cond(
        step % per_epoch == 0,
        lambda: epoch_order(structure, numbers, step // per_epoch),
        lambda: order,
    )


# ------------------------------------------------------------------ the update


@functools.cache
def structure_optimizer(structure: Structure):
    """The Optax transformation; its numbers come from the state, so any placeholder builds it."""
    return make_optimizer(structure.optimizer, default_numbers(structure.optimizer))


def apply_update(structure: Structure, numbers: dict, state, grads):
    """Update k of the lecture, given the gradient of the total loss at the state's parameters.

    lr = schedule(k) (``exponential_decay`` with the state's global step k, 0-based); the
    optimizer moves the parameters with that rate; then the shadow moves toward the
    parameters, shadow ← shadow − (shadow − p)·(1 − d) with d = min(decay, (1 + n)/(10 + n))
    (warm-up on) or decay, in the config's ``ema.order``: p the updated parameters and
    n = k + 1 (after_update, TF1's documented pattern), or p the parameters before the update
    and n = k (before_update, the lecture's grouping as TF1 runs it; TF1 leaves that order
    undefined, see :mod:`nnopt.core.ema`). Works on any state with
    ``step, params, opt_state, ema_params`` (flat or lanes).

    Returns:
      (the state after the update, with step k + 1; the rate used).
    """
    k = state.step
    lr = exponential_decay(k, numbers, numbers["staircase"])
    hyper = {**state.opt_state.hyperparams, "learning_rate": lr}
    opt_state = state.opt_state._replace(hyperparams=hyper)
    updates, opt_state = structure_optimizer(structure).update(grads, opt_state, state.params)
    params = jax.tree_util.tree_map(jnp.add, state.params, updates)
    shadow = training_shadow(numbers, k, state.ema_params, state.params, params)
    return state._replace(step=k + 1, params=params, opt_state=opt_state, ema_params=shadow), lr


def train_step(structure: Structure, data, numbers: dict, state: TrainState, order=None):
    """One update of one run. Returns the new state and (data loss, regularization, learning
    rate) of the batch. ``order``: the shuffled epoch's rows (see :func:`select_batch`)."""
    x, y_, weights = select_batch(structure, data, state.step, numbers, order)

    def objective(flat):
        params = unflatten(flat, structure)
        y = forward(structure, params, x)
        data_loss = LOSSES[structure.loss].fn(y, y_, weights, numbers)
        penalty = weight_penalty(params, numbers)
        return data_loss + penalty, (data_loss, penalty)

    (_, (data_loss, penalty)), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
    state, lr = apply_update(structure, numbers, state, grads)
    return state, (data_loss, penalty, lr)


# ------------------------------------------------------------------ a chunk


def evaluate_state(structure: Structure, data, numbers: dict, state: TrainState):
    """Full-data metrics of a state: train and test, raw and EMA weights (the host drops the
    EMA ones of a run without EMA)."""
    out = {}
    for which in WEIGHTS:
        flat = weights_of(state, which)
        prefix = "ema_" if which == "ema" else ""
        for split, x, y_ in (
            ("train", data.x_train, data.y_train),
            ("test", data.x_test, data.y_test),
        ):
            if split == "test" and structure.n_test == 0:
                continue
            for name, value in metrics_of(structure, numbers, flat, x, y_).items():
                out[f"{prefix}{split}_{name}"] = value
    return out


def optimizer_init(structure: Structure, numbers: dict, params):
    """The optimizer's state at step 0 for ``params``: ``make_optimizer(...).init`` with the
    optimizer's numbers (``numbers["optimizer"]``), inside the compiled program."""
    return make_optimizer(structure.optimizer, numbers["optimizer"]).init(params)


def started(start, fresh, state):
    """``fresh`` where ``start`` (a traced bool) holds, else ``state``, leaf by leaf."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(start, a, b), fresh, state)


def run_chunk(
    structure: Structure, capacity: int, data, numbers: dict, state: TrainState, length, start
):
    """``length`` (<= ``capacity``) updates in one compiled loop, then the full-data metrics.

    The number of updates is an argument, not a constant: one program serves every chunk
    length up to ``capacity`` (and length 0 evaluates the start of a run), and XLA compiles
    the loop body the same way whatever the length (a loop it knew to run once would be
    fused differently and round differently). Each update's batch loss, penalty and rate
    land in buffers of ``capacity`` entries.

    ``start`` (a bool) first replaces the optimizer state with its ``init`` (see
    :func:`nnopt.engine.setup.initial_state`): a run needs no program besides this one.
    """
    opt_state = started(start, optimizer_init(structure, numbers, state.params), state.opt_state)
    state = state._replace(opt_state=opt_state)

    def body(i, carry):
        state, buffers, order = carry
        order = next_order(structure, numbers, state.step, order)
        state, values = train_step(structure, data, numbers, state, order)
        return state, tuple(b.at[i].set(v) for b, v in zip(buffers, values)), order

    empty = tuple(jnp.zeros((capacity,), jnp.float32) for _ in range(3))
    start = (state, empty, first_order(structure, numbers, state.step))
    state, per_step, _ = jax.lax.fori_loop(0, length, body, start)
    return state, per_step, evaluate_state(structure, data, numbers, state)


@kept_program
def compiled_chunk(structure: Structure, capacity: int) -> Callable:
    """The jitted :func:`run_chunk` for one structure and chunk capacity, compiled once and kept
    among the programs used last (a playground tab may try many: see
    :data:`nnopt.engine.compilation.PROGRAMS_KEPT`)."""
    return jax.jit(functools.partial(run_chunk, structure, capacity))


@functools.lru_cache(maxsize=16)
def compiled_bundle(keys: tuple[tuple[Structure, int], ...]) -> Callable:
    """One program holding the chunks of several (structure, capacity) keys side by side (a
    key may come more than once): called with a tuple of each key's :func:`run_chunk`
    arguments (data, numbers, state, length, start), it returns the tuple of their outputs.

    XLA's cost per program is largely fixed (a lecture-sized chunk compiles in about 0.3 s),
    so one program for five keys compiles in about half the time of five programs. Each key
    is its own :func:`compiled_chunk` inside (traced once however often it comes, its loop
    its own computation), so a run's numbers are those of its own program, bit for bit.
    """

    def chunks(args):
        return tuple(compiled_chunk(*key)(*a) for key, a in zip(keys, args))

    return jax.jit(chunks)
