"""Every ``paper`` preset holds the published setting: each value with its source, so no later
change moves a paper preset unnoticed. Where the source is silent, the value is ours and the
row says so; the study's docstring carries the same table."""

from __future__ import annotations

import math

import optuna
import pytest

from studies._runner.registry import load_study

HA = "Ha et al. 2017"
HYPERCL = "chrhenning/hypercl mnist/train_args_default.py"
HYPERCL_INIT = "chrhenning/hypercl mnist/train_utils.py, generate_classifier: xavier_uniform_"
HYPERCL_DIRECT_INIT = (f"{HYPERCL_INIT}; mnist/replay/train_utils_replay.py, "
                       "generate_replay_networks: xavier_uniform_")

PAPER_SETTINGS = [
    # static_hnet_mnist: Ha et al. 2017, sec. 4.1 and appendix A.3.1
    ("static_hnet_mnist", "generated_choices", (True, False), f"{HA}, Table 7: both nets"),
    ("static_hnet_mnist", "embedding_size", 4, f"{HA}, sec. 4.1: N_z = 4"),
    ("static_hnet_mnist", "hidden_size", 4, f"{HA}, sec. 3.1: d = N_z"),
    ("static_hnet_mnist", "valid_size", 5000, f"{HA}, A.3.1: 55000 / 5000 / 10000"),
    ("static_hnet_mnist", "batch_size", 1000, f"{HA}, A.3.1: mini-batches of size 1000"),
    ("static_hnet_mnist", "lr", 1e-3, f"{HA}, A.3.1: Adam, learning rate 0.001"),
    ("static_hnet_mnist", "crop_padding", 1, f"{HA}, A.3.1: pad to 30x30, crop to 28x28"),
    ("static_hnet_mnist", "flip", False, f"{HA}, A.3.1: no flips named"),
    ("static_hnet_mnist", "lr_milestones", (), f"{HA}, A.3.1: no schedule named"),
    ("static_hnet_mnist", "epochs", 50, "not stated in the paper: ours"),
    # static_hnet_cifar10: Ha et al. 2017, sec. 4.2, appendix A.3.2, Tables 8-9
    ("static_hnet_cifar10", "depth", 40, f"{HA}, Table 2: WRN 40-k"),
    ("static_hnet_cifar10", "widen_choices", (1, 2), f"{HA}, Table 2: k = 1, 2"),
    ("static_hnet_cifar10", "generated_choices", (True, False), f"{HA}, Table 2"),
    ("static_hnet_cifar10", "embedding_size", 64, f"{HA}, sec. 4.2: N_z = 64"),
    ("static_hnet_cifar10", "hidden_size", 64, f"{HA}, sec. 3.1: d = N_z"),
    ("static_hnet_cifar10", "valid_size", 5000, f"{HA}, A.3.2: 5000 validation samples"),
    ("static_hnet_cifar10", "batch_size", 128, f"{HA}, A.3.2: mini-batch size of 128"),
    ("static_hnet_cifar10", "crop_padding", 2, f"{HA}, A.3.2: pad to 36x36, crop to 32x32"),
    ("static_hnet_cifar10", "flip", True, f"{HA}, A.3.2: random horizontal flips"),
    ("static_hnet_cifar10", "plain_recipe", "paper_sgd", f"{HA}, A.3.2 and Table 8"),
    ("static_hnet_cifar10", "hyper_recipe", "paper_adam", f"{HA}, A.3.2 and Table 9"),
    ("static_hnet_cifar10", "kernel_l2", 5e-4, f"{HA}, A.3.2: 0.0005 on all kernels"),
    # hyperlstm_ptb: Ha et al. 2017, sec. 4.3, appendix A.2.2 and A.3.3
    ("hyperlstm_ptb", "cell", "ln_hyperlstm", f"{HA}, Table 3: LN HyperLSTM"),
    ("hyperlstm_ptb", "hidden_size", 1000, f"{HA}, sec. 4.3: 1000 units"),
    ("hyperlstm_ptb", "num_layers", 1, f"{HA}, sec. 4.3"),
    ("hyperlstm_ptb", "hyper_size", 128, f"{HA}, sec. 4.3: 128 units"),
    ("hyperlstm_ptb", "embedding_size", 4, f"{HA}, sec. 4.3: a signal size of 4"),
    ("hyperlstm_ptb", "batch_size", 128, f"{HA}, A.3.3: mini-batches of size 128"),
    ("hyperlstm_ptb", "seq_len", 100, f"{HA}, A.3.3: sequences of length 100"),
    ("hyperlstm_ptb", "lr", 1e-3, f"{HA}, A.3.3: Adam, learning rate 0.001"),
    ("hyperlstm_ptb", "keep_prob", 0.9, f"{HA}, sec. 4.3 and A.3.3: keep 0.9"),
    ("hyperlstm_ptb", "hyper_recurrent_dropout", False, f"{HA}, A.2.2: main LSTM only"),
    ("hyperlstm_ptb", "epochs", 30, "not stated in the paper: ours"),
    # hypercl_pmnist: von Oswald et al. 2020 via the authors' _set_default_permuted
    ("hypercl_pmnist", "benchmark", "pmnist", f"{HYPERCL}: permutedMNIST"),
    ("hypercl_pmnist", "num_tasks", 10, f"{HYPERCL}: PermutedMNIST-10"),
    ("hypercl_pmnist", "target_hidden", (1000, 1000), f"{HYPERCL}: class_fc_arch 1000,1000"),
    ("hypercl_pmnist", "iterations", 5000, f"{HYPERCL}: n_iter 5000"),
    ("hypercl_pmnist", "batch_size", 128, f"{HYPERCL}: batch_size 128"),
    ("hypercl_pmnist", "lr", 1e-4, f"{HYPERCL}: class_lr = class_lr_emb = 0.0001"),
    ("hypercl_pmnist", "lookahead", True, f"{HYPERCL}: no_lookahead False"),
    ("hypercl_pmnist", "beta_output", 0.1, f"{HYPERCL}: class_beta 0.1"),
    ("hypercl_pmnist", "task_embedding_size", 24, f"{HYPERCL}: class_temb_size 24"),
    ("hypercl_pmnist", "chunk_embedding_size", 8, f"{HYPERCL}: class_emb_size 8"),
    ("hypercl_pmnist", "hnet_hidden", "25x25", f"{HYPERCL}: class_hnet_arch 25,25"),
    ("hypercl_pmnist", "hnet_activation", "elu", f"{HYPERCL}: class_hnet_act elu"),
    ("hypercl_pmnist", "chunk_size", 78000, f"{HYPERCL}: class_hyper_chunks 78000"),
    ("hypercl_pmnist", "num_chunks", 28, "ceil(2,126,100 / 78000)"),
    ("hypercl_pmnist", "hnet_init", "xavier", HYPERCL_INIT),
    ("hypercl_pmnist", "direct_init", "xavier", HYPERCL_DIRECT_INIT),
    ("hypercl_pmnist", "targets", "stored", f"{HYPERCL}: online_target_computation off"),
    ("hypercl_pmnist", "reg_tasks_per_step", None, "train_args.py: hnet_reg_batch_size -1"),
    ("hypercl_pmnist", "replay_enc_hidden", "1000x1000", f"{HYPERCL}: enc_fc_arch 1000,1000"),
    ("hypercl_pmnist", "replay_dec_hidden", None, f"{HYPERCL}: dec_fc_arch per method"),
    ("hypercl_pmnist", "replay_latent_size", 100, f"{HYPERCL}, _set_default: latent_dim 100"),
    ("hypercl_pmnist", "replay_hnet_hidden", "25x25", f"{HYPERCL}: rp_hnet_arch 25,25"),
    ("hypercl_pmnist", "replay_chunk_size", 85000, f"{HYPERCL}: rp_hyper_chunks 85000"),
    ("hypercl_pmnist", "replay_chunk_embedding_size", 8, f"{HYPERCL}: rp_emb_size 8"),
    ("hypercl_pmnist", "replay_task_embedding_size", 24, f"{HYPERCL}: rp_temb_size 24"),
    ("hypercl_pmnist", "replay_beta", None, f"{HYPERCL}: rp_beta 0.1 (per method)"),
    ("hypercl_pmnist", "replay_lr", None, f"{HYPERCL}: enc_lr = dec_lr = class_lr"),
    # hypercl_splitmnist: the authors' _set_default_split
    ("hypercl_splitmnist", "benchmark", "splitmnist", f"{HYPERCL}: splitMNIST"),
    ("hypercl_splitmnist", "num_tasks", 5, f"{HYPERCL}: num_tasks 5"),
    ("hypercl_splitmnist", "target_hidden", (400, 400), f"{HYPERCL}: class_fc_arch 400,400"),
    ("hypercl_splitmnist", "iterations", 2000, f"{HYPERCL}: n_iter 2000"),
    ("hypercl_splitmnist", "batch_size", 128, f"{HYPERCL}: batch_size 128"),
    ("hypercl_splitmnist", "lr", 1e-3, f"{HYPERCL}: class_lr = class_lr_emb = 0.001"),
    ("hypercl_splitmnist", "lookahead", True, f"{HYPERCL}: no_lookahead False"),
    ("hypercl_splitmnist", "beta_output", 0.01, f"{HYPERCL}: class_beta 0.01"),
    ("hypercl_splitmnist", "task_embedding_size", 96, f"{HYPERCL}: class_temb_size 96"),
    ("hypercl_splitmnist", "chunk_embedding_size", 96, f"{HYPERCL}: class_emb_size 96"),
    ("hypercl_splitmnist", "hnet_hidden", "10x10", f"{HYPERCL}: class_hnet_arch 10,10"),
    ("hypercl_splitmnist", "hnet_activation", "relu", f"{HYPERCL}: class_hnet_act relu"),
    ("hypercl_splitmnist", "chunk_size", 42000, f"{HYPERCL}: class_hyper_chunks 42000"),
    ("hypercl_splitmnist", "num_chunks", 12, "ceil(478,410 / 42000)"),
    ("hypercl_splitmnist", "targets", "stored", f"{HYPERCL}: online_target_computation off"),
    ("hypercl_splitmnist", "reg_tasks_per_step", None, "train_args.py: hnet_reg_batch_size -1"),
    ("hypercl_splitmnist", "replay_enc_hidden", "400x400", f"{HYPERCL}: enc_fc_arch 400,400"),
    ("hypercl_splitmnist", "replay_dec_hidden", None, f"{HYPERCL}: 250,350 R; 50,150 TIR"),
    ("hypercl_splitmnist", "replay_latent_size", 100, f"{HYPERCL}, _set_default: latent_dim"),
    ("hypercl_splitmnist", "replay_hnet_hidden", "10x10", f"{HYPERCL}: rp_hnet_arch 10,10"),
    ("hypercl_splitmnist", "replay_chunk_size", 50000, f"{HYPERCL}: rp_hyper_chunks 50000"),
    ("hypercl_splitmnist", "replay_chunk_embedding_size", 96, f"{HYPERCL}: rp_emb_size 96"),
    ("hypercl_splitmnist", "replay_task_embedding_size", 96, f"{HYPERCL}: rp_temb_size 96"),
    ("hypercl_splitmnist", "replay_beta", None, f"{HYPERCL}: rp_beta 0.01 R and TIR"),
    ("hypercl_splitmnist", "replay_lr", None, f"{HYPERCL}: enc_lr = dec_lr = 0.001"),
    ("hypercl_splitmnist", "replay_condition_size", 100,
     f"{HYPERCL}, _set_default: conditional_replay, conditional_dim 100"),
    ("hypercl_splitmnist", "replay_weight", 0.5, "hypercl mnist/train_args.py: l_rew 0.5"),
    ("hypercl_splitmnist", "distill_temperature", 2.0,
     "hypercl mnets/classifier_interface.py: knowledge_distillation_loss T=2"),
    ("hypercl_pmnist", "replay_condition_size", 100, f"{HYPERCL}: conditional_dim 100"),
    ("hypercl_pmnist", "replay_weight", 0.5, "hypercl mnist/train_args.py: l_rew 0.5"),
    ("hypercl_pmnist", "distill_temperature", 2.0, "hypercl knowledge_distillation_loss T=2"),
    ("hypercl_splitmnist", "hnet_init", "xavier", HYPERCL_INIT),
    ("hypercl_splitmnist", "direct_init", "xavier", HYPERCL_DIRECT_INIT),
    # hypercl_pmnist100: _set_default_permuted and its num_tasks >= 100 branch
    ("hypercl_pmnist100", "benchmark", "pmnist", f"{HYPERCL}: permutedMNIST"),
    ("hypercl_pmnist100", "num_tasks", 100, f"{HYPERCL}: num_tasks >= 100"),
    ("hypercl_pmnist100", "target_hidden", (1000, 1000), f"{HYPERCL}: class_fc_arch"),
    ("hypercl_pmnist100", "iterations", 5000, f"{HYPERCL}: n_iter 5000 (permuted)"),
    ("hypercl_pmnist100", "batch_size", 128, f"{HYPERCL}: batch_size 128"),
    ("hypercl_pmnist100", "lr", 1e-4, f"{HYPERCL}: class_lr = class_lr_emb = 0.0001"),
    ("hypercl_pmnist100", "lookahead", True, f"{HYPERCL}: no_lookahead False"),
    ("hypercl_pmnist100", "beta_output", 0.01, f"{HYPERCL}: class_beta 0.01 (perm100)"),
    ("hypercl_pmnist100", "task_embedding_size", 128, f"{HYPERCL}: class_temb_size 128"),
    ("hypercl_pmnist100", "chunk_embedding_size", 12, f"{HYPERCL}: class_emb_size 12"),
    ("hypercl_pmnist100", "hnet_hidden", "200x250x350", f"{HYPERCL}: 200,250,350"),
    ("hypercl_pmnist100", "hnet_activation", "relu", f"{HYPERCL}: class_hnet_act relu"),
    ("hypercl_pmnist100", "chunk_size", 7500, f"{HYPERCL}: class_hyper_chunks 7500"),
    ("hypercl_pmnist100", "num_chunks", 404, "ceil(3,027,000 / 7500)"),
    ("hypercl_pmnist100", "hnet_init", "xavier", HYPERCL_INIT),
    ("hypercl_pmnist100", "direct_init", "xavier", HYPERCL_DIRECT_INIT),
    ("hypercl_pmnist100", "reg_tasks_per_step", None, "train_args.py: hnet_reg_batch_size -1"),
    ("hypercl_pmnist100", "eval_during", True, "the whole accuracy matrix"),
]


def test_permuted_mnist_100_has_the_authors_sizes():
    """3,027,000 target weights (1024-1000-1000, a 10-way head a task); the hypernetwork's
    2,816,448 trainable parameters: compression 0.930."""
    from hnet_core.models import ChunkedHyperMLP
    from studies._hypercl import target_size

    spec = load_study("hypercl_pmnist100")
    for preset in ("quick", "paper"):
        config = spec.presets[preset]
        _target, hnet, _train = spec.trial_configs(config, {}, 0)[:3]
        size = target_size(config)
        assert size == 1024 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 1000 + 1000
        assert (hnet.chunk_size, hnet.hidden, hnet.activation) == (7500, (200, 250, 350),
                                                                    "relu")
        trainable = ChunkedHyperMLP(hnet, size).num_trainable()
        assert trainable == 2_816_448 and round(trainable / size, 3) == 0.930


@pytest.mark.parametrize("study,field,value,source", PAPER_SETTINGS,
                         ids=[f"{s}-{f}" for s, f, _, _ in PAPER_SETTINGS])
def test_paper_preset_holds_the_published_value(study, field, value, source):
    assert getattr(load_study(study).presets["paper"], field) == value, source


@pytest.mark.parametrize("study,method,decoder,beta", [
    ("hypercl_splitmnist", "hnet_r", (250, 350), 0.01),
    ("hypercl_splitmnist", "hnet_tir", (50, 150), 0.01),
    ("hypercl_pmnist", "hnet_r", (400, 400), 0.1),
    ("hypercl_pmnist", "hnet_tir", (1000, 1000), 0.1)])
def test_a_replay_trial_trains_with_the_authors_replay_setting(study, method, decoder, beta):
    """``_set_default_split`` / ``_set_default_permuted`` per method, reaching the trainer:
    decoder sizes, rp_beta, the 100-long one-hot condition, l_rew 0.5 and T = 2."""
    spec = load_study(study)
    config = spec.presets["paper"]
    train = spec.trial_configs(config, {"scenario": 3, "method": method}, 0)[2]
    assert (train.replay.dec_hidden, train.replay.beta) == (decoder, beta), HYPERCL
    assert (train.replay.condition_size, train.replay_weight, train.distill_temperature) == (
        100, 0.5, 2.0)
    assert train.replay.lr == train.lr == config.lr


def test_the_ablations_paper_presets_are_their_studies():
    for ablation, study in (("hyperlstm_ablation", "hyperlstm_ptb"),
                            ("hypercl_ablation", "hypercl_splitmnist"),
                            ("hypercl_scenarios", "hypercl_splitmnist")):
        ours, theirs = (load_study(n).presets["paper"] for n in (ablation, study))
        for field, _value, _source in [r[1:] for r in PAPER_SETTINGS if r[0] == study]:
            if field not in load_study(ablation).unused_fields:
                assert getattr(ours, field) == getattr(theirs, field), (ablation, field)
    scenarios = load_study("hypercl_scenarios").presets["paper"]
    # Table 1: means over seeds, with the task-inference accuracy the CL2/CL3 cells need
    assert (scenarios.seeds, scenarios.task_inference, scenarios.n_trials) == ((1, 2, 3), True,
                                                                               15)


def _grid_trials(study: str) -> list[dict]:
    spec = load_study(study)
    config = spec.presets["paper"]
    sampler = optuna.samplers.GridSampler(spec.grid(config), seed=0)
    trials: list[dict] = []

    def objective(trial: optuna.Trial) -> float:
        trials.append(spec.search_space(trial, config))
        return 0.0

    optuna.create_study(sampler=sampler).optimize(objective, n_trials=spec.grid_size(config))
    return trials


def test_the_grid_at_the_paper_preset_runs_the_papers_configurations():
    ptb = _grid_trials("hyperlstm_ptb")
    assert ptb == [{"cell": "ln_hyperlstm", "embedding_size": 4, "hyper_size": 128,
                    "input_keep_prob": 0.9, "output_keep_prob": 0.9,
                    "recurrent_keep_prob": 0.9, "lr": 1e-3}]
    ptb_spec = load_study("hyperlstm_ptb")
    ptb_train = ptb_spec.trial_configs(ptb_spec.presets["paper"], ptb[0], 0)[1]
    assert ptb_train.grad_clip == 1.0, f"{HA}, A.3.3: gradient clipping of 1.0"
    mnist = sorted(_grid_trials("static_hnet_mnist"), key=lambda p: p["generated"])
    assert mnist == [{"generated": False, "lr": 1e-3},
                     {"generated": True, "embedding_size": 4, "hidden_size": 4, "lr": 1e-3}]
    cifar = _grid_trials("static_hnet_cifar10")
    assert sorted((p["widen"], p["generated"]) for p in cifar) == [
        (1, False), (1, True), (2, False), (2, True)]
    assert all("lr" not in p for p in cifar)  # the recipes fix it
    for study, chunks in (("hypercl_pmnist", 28), ("hypercl_splitmnist", 12),
                          ("hypercl_pmnist100", 404)):
        (point,) = _grid_trials(study)
        spec = load_study(study)
        _target, hnet, train = spec.trial_configs(spec.presets["paper"], point, 0)[:3]
        config = spec.presets["paper"]
        assert point["num_chunks"] == chunks and hnet.chunk_size == config.chunk_size
        assert (train.lr, train.beta_output, train.lookahead) == (
            config.lr, config.beta_output, True)


def test_the_cifar_recipes_are_tables_8_and_9():
    spec = load_study("static_hnet_cifar10")
    config = spec.presets["paper"]
    plain = spec.trial_configs(config, {"widen": 1, "generated": False}, 0)[1]
    hyper = spec.trial_configs(config, {"widen": 1, "generated": True, "embedding_size": 64,
                                        "hidden_size": 64}, 0)[1]
    plain_lrs = [round(plain.lr * plain.lr_factor(s), 8) for s in (0, 28_000, 56_000, 84_000,
                                                                    112_000)]
    assert (plain.optimizer, plain_lrs, plain.max_train_steps) == (
        "nesterov", [0.1, 0.02, 0.004, 0.0008, 0.00016], 140_000)
    hyper_lrs = [round(hyper.lr * hyper.lr_factor(s), 8) for s in (0, 168_000, 336_000,
                                                                    504_000)]
    assert (hyper.optimizer, hyper_lrs, hyper.max_train_steps) == (
        "adam", [0.002, 0.001, 0.0002, 0.00005], 672_000)
    assert plain.epochs == math.ceil(140_000 / 352) and hyper.epochs == math.ceil(672_000 / 352)
    assert plain.kernel_l2 == hyper.kernel_l2 == 5e-4
