"""hypercl_splitmnist: continual learning of SplitMNIST (five 2-way tasks) with a chunked
hypernetwork (von Oswald et al. 2020, sec. 4.2).

    python -m studies.run hypercl_splitmnist                          # quick preset
    python -m studies.run hypercl_splitmnist --objectives final_acc,compression_ratio
    python -m studies.run hypercl_splitmnist --preset paper --sampler grid

The search space, metrics and results are those of ``hypercl_pmnist``. The paper preset is the
authors' SplitMNIST setting (``chrhenning/hypercl``, ``mnist/train_args_default.py``,
``_set_default_split``), for the classifier:

- target_hidden (400, 400), five 2-way heads, 784 inputs: ``class_fc_arch = '400,400'``,
  ``padding = 0``, ``num_tasks = 5``.
- iterations 2000, batch_size 128: ``n_iter = 2000``, ``batch_size = 128``.
- lr 1e-3 for the hypernetwork and the task embeddings: ``class_lr = class_lr_emb = 0.001``.
- hnet_hidden 10x10, hnet_activation relu: ``class_hnet_arch = '10,10'``,
  ``class_hnet_act = "relu"``.
- chunk_size 42000 (12 chunks), chunk and task embeddings 96: ``class_hyper_chunks``,
  ``class_emb_size``, ``class_temb_size``.
- beta_output 0.01: ``class_beta = 0.01``; lookahead on: ``no_lookahead = False``.
- hnet_init xavier: Xavier-uniform weights, zero biases, embeddings N(0, 1)
  (``mnist/train_utils.py``, ``generate_classifier``); direct_init xavier: the same for the
  networks trained directly (the baselines' target; the VAE's encoder in
  ``mnist/replay/train_utils_replay.py``, ``generate_replay_networks``).
- targets stored, all earlier tasks regularised: ``train_args.py`` defaults.

and for the replay VAE (the HyperCLConfig defaults): encoder 400,400 (``enc_fc_arch``), latent
100 (``latent_dim``, ``_set_default``), decoder 250,350 for HNET+R and 50,150 for HNET+TIR
(``dec_fc_arch``), hypernetwork 10,10 ELU with chunks of 50000 and embeddings 96 (``rp_*``),
``rp_beta`` 0.01 for both, lr 1e-3 (``enc_lr = dec_lr = dec_lr_emb = 0.001``), a one-hot task
code of 100 fed to the decoder (``conditional_replay = True``, ``conditional_dim = 100``), and
the replay learners' losses weighted 0.5 / 0.5 (``l_rew``) with HNET+R's distillation at
temperature 2 (``knowledge_distillation_loss``).
"""

from __future__ import annotations

from studies._hypercl import SPLIT_PRESETS, hypercl_spec

SPEC = hypercl_spec(
    "hypercl_splitmnist",
    "SplitMNIST, chunked hypernetwork: search embeddings, chunks, beta, lr",
    SPLIT_PRESETS,
)
