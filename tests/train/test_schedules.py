import math

import pytest

torch = pytest.importorskip("torch")

from bnncc.train.optim import Bop  # noqa: E402
from bnncc.train.schedules import apply_schedules, make_schedule  # noqa: E402


def test_constant_step_exponential_cosine_values():
    assert [make_schedule("constant", 0.5, 4)(e) for e in range(4)] == [0.5] * 4
    step = make_schedule("step", 1.0, 9, step_every=3, factor=0.1)
    assert [step(e) for e in range(9)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])
    expo = make_schedule("exponential", 1e-2, 5, final=1e-6)
    assert [expo(e) for e in range(5)] == pytest.approx([1e-2, 1e-3, 1e-4, 1e-5, 1e-6])
    cos = make_schedule("cosine", 1.0, 5, final=0.0)
    assert [cos(e) for e in range(5)] == pytest.approx([1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                                         (1 + math.cos(3 * math.pi / 4)) / 2, 0.0], abs=1e-12)


def test_default_final_is_one_percent_and_single_epoch_is_initial():
    assert make_schedule("cosine", 2.0, 3)(2) == pytest.approx(0.02)
    assert make_schedule("cosine", 2.0, 1)(0) == pytest.approx(2.0)


def test_apply_schedules_sets_named_hyper_parameters():
    w = torch.nn.Parameter(torch.ones(2))
    bop = Bop([w], threshold=1e-6, gamma=1e-2)
    apply_schedules(bop, {"gamma": make_schedule("step", 1e-2, 4, step_every=2), "threshold": lambda e: 1e-7},
                    epoch=2)
    assert bop.param_groups[0]["gamma"] == pytest.approx(1e-3)
    assert bop.param_groups[0]["threshold"] == 1e-7
    with pytest.raises(KeyError):
        apply_schedules(bop, {"lr": lambda e: 1.0}, 0)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError):
        make_schedule("linear-warmup", 1.0, 3)


def test_parse_schedule_specs():
    from bnncc.train.schedules import parse_schedule

    cos = parse_schedule("cosine:1e-3:1e-5", 7.0, 3)
    assert [cos(e) for e in range(3)] == pytest.approx([1e-3, (1e-3 + 1e-5) / 2, 1e-5])
    assert parse_schedule("cosine", 2.0, 3)(2) == pytest.approx(0.02)        # v0 from the config, final 1 %
    assert parse_schedule("constant", 0.5, 4)(3) == 0.5
    step = parse_schedule("step:1:0.5:2", 7.0, 6)
    assert [step(e) for e in range(6)] == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])
    expo = parse_schedule("exponential:1e-2:1e-4", 7.0, 3)
    assert [expo(e) for e in range(3)] == pytest.approx([1e-2, 1e-3, 1e-4])
    for bad in ("linear", "cosine:x", "constant:1:2", "step:1:0.1:0.5"):
        with pytest.raises(ValueError):
            parse_schedule(bad, 1.0, 3)


def test_per_name_schedules_reach_the_right_optimizer_and_are_recorded():
    from bnncc.train.trainer import TrainConfig, build_model, build_optimizers, hyper_parameters

    config = TrainConfig(optimizer="bop2nd", epochs=3, width=8, schedule="cosine", tau=1e-3,
                         schedules={"tau": "step:1e-3:0.1:1", "sigma": "constant:0.05"})
    optimizers = build_optimizers(build_model(config, 64, 8), config)
    for opt, schedules in optimizers:
        apply_schedules(opt, schedules, 2)
    values = hyper_parameters(optimizers)
    assert values["tau"] == pytest.approx(1e-5) and values["sigma"] == 0.05
    assert values["gamma"] == pytest.approx(1e-5) and values["lr"] == pytest.approx(1e-4)  # the kind: cosine to 1 %
    with pytest.raises(ValueError, match="no hyper-parameter 'tau'"):
        build_optimizers(build_model(TrainConfig(width=8), 64, 8), TrainConfig(schedules={"tau": "cosine"}))
    with pytest.raises(ValueError, match="cannot schedule"):
        build_optimizers(build_model(TrainConfig(width=8), 64, 8), TrainConfig(schedules={"beta": "cosine"}))
