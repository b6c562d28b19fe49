"""Drop-in replacement for `plastic_balanced_network` 0.0.6: change one import, keep your script.

    from sim.compat import PlasticNeuralNetwork, compute_firing_rate, spike_count_cov, ...

Same class, methods, signatures, attributes, return shapes and TypeError/ValueError rules (checked
before any state is touched). `connectivity()` draws from numpy's global generator in the original's
order, so `np.random.seed(s)` gives the original's `J` and `Jx`. Underneath run our Numba kernel and
the fixes of MODEL.md; every difference is listed in docs/compat.md.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from sim.compat_helpers import average_cov_corr_over_subpops, compute_firing_rate, cov2corr, spike_count_cov
from sim.params import BLOCKS, SimParams

__all__ = [
    "PlasticNeuralNetwork",
    "average_cov_corr_over_subpops",
    "compute_firing_rate",
    "cov2corr",
    "spike_count_cov",
]

log = logging.getLogger(__name__)
NUM = (float, np.floating, int, np.integer)
INT = (int, np.integer)
# Blocks in the original's order of the Jrecord_* draws and of the returned JRec_* arrays.
ORIGINAL_BLOCKS = ("ee", "ie", "ei", "ii")


def _check_types(values: dict[str, Any], kinds: dict[str, tuple[type, ...]]) -> None:
    """TypeError for the first argument (in the original's order) of the wrong type."""
    for name, allowed in kinds.items():
        value = values[name]
        if not isinstance(value, allowed):
            expected = "int" if allowed is INT else "int nor float"
            raise TypeError(f"ERROR: {name} is not {expected} (got {type(value).__name__} {value!r}).")


def _check_values(values: dict[str, Any], rules: list[tuple[str, Any, str]]) -> None:
    """ValueError for the first (name, is_bad predicate, reason) rule that fails."""
    for name, is_bad, reason in rules:
        if is_bad(values[name]):
            raise ValueError(f"ERROR: {name}={values[name]!r}: {reason}.")


def _outside_unit(x: float) -> bool:
    return bool((x > 1) | (x < 0))


_INIT_TYPES = {
    "N": INT,
    "frac_exc": NUM,
    "frac_ext": NUM,
    "T": INT,
    "dt": NUM,
    "jestim": NUM,
    "jistim": NUM,
    "nBinsRecord": INT,
}
_INIT_VALUES = [
    ("N", lambda v: v < 1, "has to be greater than or equal to 1"),
    ("frac_exc", _outside_unit, "has to be between 0 and 1"),
    ("frac_ext", _outside_unit, "has to be between 0 and 1"),
    ("T", lambda v: v < 1, "has to be at least 1 millisecond"),
    ("dt", lambda v: v <= 0, "has to be positive"),
    ("nBinsRecord", lambda v: v <= 0, "has to be positive"),
]
_CONN_NAMES = ("jee", "jie", "jei", "jii", "jex", "jix", "p_ee", "p_ie", "p_ei", "p_ii", "p_ex", "p_ix")
_CONN_VALUES = [
    *((n, lambda v: v <= 0, "syn strength has to be positive") for n in ("jee", "jie")),
    *((n, lambda v: v >= 0, "syn strength has to be negative") for n in ("jei", "jii")),
    *((n, lambda v: v <= 0, "syn strength has to be positive") for n in ("jex", "jix")),
    *(
        (f"p_{b}", _outside_unit, "prob of connection has to be between 0 and 1")
        for b in ("ee", "ie", "ei", "ii")
    ),
    *((f"p_{b}", _outside_unit, "prob of connection has to be between 0 and 1") for b in ("ex", "ix")),
    ("nJrecord0", lambda v: v <= 0, "number of syn weights recorded has to be positive"),
]
_FFWD_VALUES = [
    ("T", lambda v: v < 1, "has to be greater than 1 ms"),
    ("cx", _outside_unit, "input corrs have to be between 0 and 1"),
    ("rx", lambda v: v <= 0, "input rate has to be greater than 0"),
    ("taujitter", lambda v: v <= 0, "has to be greater than 0"),
]
_SIM_NAMES = [
    "Cm",
    "gL",
    "VT",
    "Vre",
    "Vth",
    "EL",
    "DeltaT",
    "taue",
    "taui",
    "taux",
    "tauSTDP",
    "eta_ee_hebb",
    "jmax_ee",
    "eta_ee_koh",
    "beta",
    "eta_ie_homeo",
    "rho_ie",
    "eta_ie_hebb",
    "jmax_ie_hebb",
    "eta_ei",
    "rho_ei",
    "eta_ii",
    "rho_ii",
]
_POSITIVE = "has to be greater than zero"
_NON_NEGATIVE = "has to be greater than or equal to zero"
_SIM_VALUES = [
    *((n, lambda v: v <= 0, _POSITIVE) for n in ("Cm", "gL")),
    *((n, lambda v: v > 0, "has to be less than zero") for n in ("VT", "Vre", "Vth", "EL")),
    *((n, lambda v: v <= 0, _POSITIVE) for n in ("DeltaT", "taue", "taui", "taux", "tauSTDP", "numrecord")),
    ("eta_ee_hebb", lambda v: v < 0, _NON_NEGATIVE),
    ("jmax_ee", lambda v: v <= 0, _POSITIVE),
    ("eta_ee_koh", lambda v: v < 0, _NON_NEGATIVE),
    ("beta", lambda v: v <= 0, _POSITIVE),
    ("eta_ie_homeo", lambda v: v < 0, _NON_NEGATIVE),
    ("rho_ie", lambda v: v <= 0, _POSITIVE),
    ("eta_ie_hebb", lambda v: v < 0, _NON_NEGATIVE),
    ("jmax_ie_hebb", lambda v: v <= 0, _POSITIVE),
    ("eta_ei", lambda v: v < 0, _NON_NEGATIVE),
    ("rho_ei", lambda v: v <= 0, _POSITIVE),
    ("eta_ii", lambda v: v < 0, _NON_NEGATIVE),
    ("rho_ii", lambda v: v <= 0, _POSITIVE),
]


def _check_simulate_args(values: dict[str, Any]) -> None:
    """The original's checks of simulate(), plus an int check of numrecord (B17)."""
    _check_types(values, dict.fromkeys(_SIM_NAMES, NUM))
    _check_values(values, _SIM_VALUES)
    _check_types(values, {"numrecord": INT})
    if (values["eta_ee_hebb"] != 0) & (values["eta_ee_koh"] != 0):
        raise ValueError(
            "ERROR: You cannot have both Kohonen and Hebb STDP's at the same time on EE connections!"
        )
    if (values["eta_ie_hebb"] != 0) & (values["eta_ie_homeo"] != 0):
        raise ValueError(
            "ERROR: You cannot have both Homeostatic and Hebb STDP's at the same time on IE connections!"
        )


def _sample_nonzero(block: np.ndarray, n: int, post0: int, pre0: int) -> np.ndarray:
    """[post, pre] global indices of n synapses drawn as the original does (np.random.choice, no replacement).

    With fewer synapses than requested all of them are drawn in random order (B17: min(n, available)).
    """
    IIJJ = np.argwhere(block)
    picked = np.random.choice(len(IIJJ), size=min(n, len(IIJJ)), replace=False)
    return np.array([IIJJ[picked, 0] + post0, IIJJ[picked, 1] + pre0])


class PlasticNeuralNetwork:
    """The original's network class (same signatures and attributes) running our kernel and fixes.

    Differences from the original: Ni = N - Ne (B17); a working stimulus, on during the first half
    (B12); X neuron 0 fires (B5) and correlated inputs use the seeded global generator (B6); no
    phantom spike, last spike kept (B1); E/I split at Ne (B2); a runaway run stops with status
    'diverged' instead of sys.exit (B3); currents and V recorded at the same cells (B13).
    """

    def __init__(self, N, T, frac_exc=0.8, frac_ext=0.2, dt=0.1, jestim=0, jistim=0, nBinsRecord=10):
        values = dict(
            N=N,
            T=T,
            frac_exc=frac_exc,
            frac_ext=frac_ext,
            dt=dt,
            jestim=jestim,
            jistim=jistim,
            nBinsRecord=nBinsRecord,
        )
        for name in ("N", "T"):
            if values[name] is None:
                raise ValueError(
                    f"ERROR: {name} cannot be None. Pick an integer (10^3 is a good place to start)."
                )
        _check_types(values, _INIT_TYPES)
        _check_values(values, _INIT_VALUES)
        self.N, self.T, self.frac_exc, self.frac_ext = N, T, frac_exc, frac_ext
        self.jestim, self.jistim = jestim, jistim
        self.Ne = int(round(frac_exc * N))  # noqa: RUF046
        self.Ni = N - self.Ne
        self.Nx = int(round(frac_ext * N))  # noqa: RUF046
        self.Nt = round(T / dt)
        self.total_time = np.arange(dt, T + dt, dt)
        self.Istim = np.where(self.total_time <= T / 2, 1.0, 0.0)
        self.Jstim = np.sqrt(N) * np.hstack((jestim * np.ones((1, self.Ne)), jistim * np.ones((1, self.Ni))))
        self.maxns = round(0.05 * N * T)
        dtRecord = nBinsRecord * dt
        self.timeRecord = np.arange(dtRecord, T + dtRecord, dtRecord)
        self.Ntrec = len(self.timeRecord)
        self.dt = dt
        self.nBinsRecord = nBinsRecord
        self.status = "new"

    def connectivity(
        self,
        jee=25,
        jie=112.5,
        jei=-150,
        jii=-250,
        jex=180,
        jix=135,
        p_ee=0.1,
        p_ie=0.1,
        p_ei=0.1,
        p_ii=0.1,
        p_ex=0.1,
        p_ix=0.1,
        nJrecord0=100,
    ):
        """Dense J [post, pre] and Jx, drawn from np.random in the original's order, and sampled synapses."""
        values = {k: v for k, v in locals().items() if k != "self"}
        _check_types(values, {**dict.fromkeys(_CONN_NAMES, NUM), "nJrecord0": INT})
        _check_values(values, _CONN_VALUES)
        for name in _CONN_NAMES:
            setattr(self, name, values[name])
        Ne, Ni, Nx, sq = self.Ne, self.Ni, self.Nx, np.sqrt(self.N)

        def draw(j, p, rows, cols):
            return np.array(j / sq * np.random.binomial(1, p, (rows, cols)))

        top = np.hstack((draw(jee, p_ee, Ne, Ne), draw(jei, p_ei, Ne, Ni)))
        bottom = np.hstack((draw(jie, p_ie, Ni, Ne), draw(jii, p_ii, Ni, Ni)))
        self.J = np.vstack((top, bottom))
        self.Jx = np.vstack((draw(jex, p_ex, Ne, Nx), draw(jix, p_ix, Ni, Nx)))
        N = self.N
        offsets = {"ee": (0, 0), "ie": (Ne, 0), "ei": (0, Ne), "ii": (Ne, Ne)}
        for block in ORIGINAL_BLOCKS:
            post0, pre0 = offsets[block]
            rows = slice(0, Ne) if block[0] == "e" else slice(Ne, N)
            cols = slice(0, Ne) if block[1] == "e" else slice(Ne, N)
            rec = _sample_nonzero(self.J[rows, cols], nJrecord0, post0, pre0)
            setattr(self, f"Jrecord_{block}", rec)
            setattr(self, f"numrecordJ_{block}", rec.shape[1])

    def ffwd_spikes(self, T, cx=0.1, rx=10 / 1000, taujitter=5):
        """Feed-forward trains sx [time; neuron] of all Nx neurons (B5) from the global generator (B6)."""
        if T is None:
            raise ValueError("ERROR: T cannot be None. Pick an integer number of total simulation time.")
        values = dict(T=T, cx=cx, rx=rx, taujitter=taujitter)
        _check_types(values, {"cx": NUM, "rx": NUM, "taujitter": NUM, "T": INT})
        _check_values(values, _FFWD_VALUES)
        if cx < 1e-5:
            self.nspikeX = np.random.poisson(self.Nx * rx * T)
            times = np.sort(np.random.uniform(0, 1, self.nspikeX) * T)
            ids = np.random.randint(0, self.Nx, self.nspikeX)
        else:
            times, ids = _correlated_trains(self.Nx, T, cx, rx, taujitter)
        self.sx = np.vstack((times, ids.astype(float)))
        self.nspikeX = self.sx.shape[1]
        self.rx, self.cx, self.taujitter, self.T_ffwd = rx, cx, taujitter, T

    def simulate(
        self,
        Cm=1,
        gL=1 / 15,
        VT=-55,
        Vre=-75,
        Vth=-50,
        EL=-72,
        DeltaT=1,
        taue=8,
        taui=4,
        taux=10,
        tauSTDP=200,
        numrecord=100,
        eta_ee_hebb=0,
        jmax_ee=30,
        eta_ee_koh=0,
        beta=2,
        eta_ie_homeo=0,
        rho_ie=0.020,
        eta_ie_hebb=0,
        jmax_ie_hebb=125,
        eta_ei=0,
        rho_ei=0.010,
        eta_ii=0,
        rho_ii=0.020,
    ):
        """Run the network; returns (s, sx, JRec_ee, JRec_ie, JRec_ei, JRec_ii, IeRec, IiRec, IxRec, VRec,
        timeRecord) as the original does. Currents and V are recorded at the same cells (B13): rows are
        ceil(numrecord/2) E cells then numrecord//2 I cells (`self.recorded_cells`).
        """
        args = {k: v for k, v in locals().items() if k != "self"}
        _check_simulate_args(args)
        if not (hasattr(self, "J") and hasattr(self, "sx")):
            raise AttributeError("ERROR: call connectivity() and ffwd_spikes() before simulate().")
        params = self._sim_params(args)
        self.tauSTDP, self.beta, self.jmax_ee, self.jmax_ie_hebb = tauSTDP, beta, jmax_ee, jmax_ie_hebb
        V0 = np.random.uniform(0, 1, (1, self.N)) * (VT - Vre) + Vre
        self.recorded_cells = self._record_cells(numrecord)
        result = self._run(params, V0[0])
        self.status = str(result.summary["status"])
        if self.status != "done":
            summary = result.summary
            log.error(
                "Stopped at %s ms: %s (%s).", summary.get("t_stop_ms"), self.status, summary.get("reason")
            )
        return self._outputs(result)

    def _sim_params(self, args: dict[str, Any]) -> SimParams:
        """Our SimParams for this network (reference Euler integrator, the original's rule names)."""
        on, off = _stim_window(self.Istim, self.dt)
        rules = {k: args[k] for k in _SIM_NAMES[11:]}
        fields = dict(
            N=self.N,
            T=float(self.T),
            dt=float(self.dt),
            frac_exc=float(self.frac_exc),
            frac_ext=float(self.frac_ext),
            **{k: float(getattr(self, k)) for k in _CONN_NAMES},
            rx=float(self.rx),
            cx=float(self.cx),
            taujitter=float(self.taujitter),
            **{k: float(args[k]) for k in _SIM_NAMES[:11]},
            jestim=float(self.jestim) if on is not None else 0.0,
            jistim=float(self.jistim) if on is not None else 0.0,
            stim_on=on or 0.0,
            stim_off=off,
            integrator="reference",
            record=dict(dt=self.nBinsRecord * self.dt, cells=min(args["numrecord"], 100_000)),
            **{k: float(v) for k, v in rules.items()},
        )
        return SimParams(**fields)

    def _record_cells(self, numrecord: int) -> np.ndarray:
        """ceil(numrecord/2) E and numrecord//2 I cells (at most each population), sorted, E first."""
        n_e, n_i = min((numrecord + 1) // 2, self.Ne), min(numrecord // 2, self.Ni)
        e = np.sort(np.random.choice(self.Ne, size=n_e, replace=False))
        i = np.sort(np.random.choice(self.Ni, size=n_i, replace=False)) + self.Ne
        return np.concatenate([e, i]).astype(np.int64)

    def _run(self, params: SimParams, V0: np.ndarray):
        from sim.connectivity import connectivity_from_dense, post_update_blocks
        from sim.driver import run_network

        conn = connectivity_from_dense(self.J, self.Jx, self.Ne, post_update_blocks(params))
        self._conn = conn
        samples = {b: (getattr(self, f"Jrecord_{b}")[0], getattr(self, f"Jrecord_{b}")[1]) for b in BLOCKS}
        late = self.sx[0] > self.T  # an ffwd_spikes(T) longer than the network's T (B7): never delivered
        x = (self.sx[0, ~late], self.sx[1, ~late].astype(np.int64))
        return run_network(
            params, conn, x, V0, samples=samples, cells=self.recorded_cells, keep_all_spikes=True
        )

    def _outputs(self, result) -> tuple:
        """The original's 11-tuple; bins the run never reached (or beyond our bins) are NaN."""
        s = np.vstack((result.spike_times_ms, np.asarray(result.spike_neurons, dtype=float)))
        rec = {}
        for b, block in enumerate(BLOCKS):
            n = getattr(self, f"numrecordJ_{block}")
            rec[block] = self._pad(result.weight_samples[b, :n, :])
        currents = [
            self._pad(a) for a in (result.current_e, result.current_i, result.current_x, result.voltage)
        ]
        weight = result.extra.get("weight")
        if weight is not None:  # the original leaves the learned weights in self.J (B23)
            self.J[self._conn.out_post, np.repeat(np.arange(self.N), np.diff(self._conn.out_ptr))] = weight
        return (s, self.sx, rec["ee"], rec["ie"], rec["ei"], rec["ii"], *currents, self.timeRecord)

    def _pad(self, a: np.ndarray) -> np.ndarray:
        out = np.full((a.shape[0], self.Ntrec), np.nan)
        k = min(a.shape[1], self.Ntrec)
        out[:, :k] = a[:, :k]
        return out


def _stim_window(Istim: np.ndarray, dt: float) -> tuple[float | None, float | None]:
    """(on, off) ms of a 0/1 boxcar Istim (step i acts during [i dt, (i+1) dt)); (None, None) if all 0."""
    on_steps = np.flatnonzero(Istim)
    if on_steps.size == 0:
        return None, None
    first, last = int(on_steps[0]), int(on_steps[-1])
    if not (np.all(Istim[first : last + 1] == 1) and on_steps.size == last - first + 1):
        raise ValueError("ERROR: Istim must be a single boxcar of ones (our kernel's stimulus is on/off).")
    return first * dt, (last + 1) * dt


def _correlated_trains(Nx: int, T: float, cx: float, rx: float, taujitter: float):
    """Mother process of rate rx/cx, thinned with probability cx per X neuron, jittered (MODEL §1.6)."""
    nstm = np.random.poisson(rx / cx * T)
    stm = np.random.uniform(0, 1, nstm) * T
    times, ids = [], []
    for j in range(Nx):
        k = np.random.binomial(nstm, cx)
        st = np.random.choice(stm, size=k, replace=False) + taujitter * np.random.normal(0, 1, size=k)
        st = st[(st > 0) & (st < T)]
        times.append(st)
        ids.append(np.full(st.size, j))
    t, i = np.concatenate(times), np.concatenate(ids)
    order = np.argsort(t, kind="stable")
    return t[order], i[order]
