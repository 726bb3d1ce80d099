"""hypercl_pmnist: continual learning of PermutedMNIST-10 with a chunked hypernetwork
(von Oswald et al. 2020, sec. 4.2).

    python -m studies.run hypercl_pmnist                              # quick preset
    python -m studies.run hypercl_pmnist --objectives final_acc,compression_ratio   # Pareto
    python -m studies.run hypercl_pmnist --preset paper --sampler grid --cpus-per-trial 2

Searches the task-embedding size, the chunk count (the chunk size follows: ceil(P / count),
reported as ``chunk_size``), the chunk-embedding size, beta_output, the hypernetwork's hidden
sizes and the learning rate. After each task the trial reports the running average accuracy
(``final_acc``: after the last task, the final average accuracy with the task given) to the
pruner; every row of the accuracy matrix lands in ``acc_matrix.parquet``. ``--sampler grid``
runs the preset's fixed values (at the paper preset: the paper's PermutedMNIST-10 setting).

The paper preset is the setting of the authors' code, ``chrhenning/hypercl``,
``mnist/train_args_default.py``, ``_set_default_permuted`` (which sets "the hyperparameter
values to reproduce results reported in the paper"), for the classifier:

- target_hidden (1000, 1000), ten 10-way heads: ``class_fc_arch = '1000,1000'``.
- 32x32-padded inputs, first task unpermuted: ``padding = 2``; the authors' task list starts
  with the unpermuted images (``permutations = [None] + ...``).
- iterations 5000, batch_size 128: ``n_iter = 5000``, ``batch_size = 128``.
- lr 1e-4 for the hypernetwork and the task embeddings: ``class_lr = class_lr_emb = 0.0001``.
- hnet_hidden 25x25, hnet_activation elu: ``class_hnet_arch = '25,25'``, ``class_hnet_act``.
- chunk_size 78000 (28 chunks), chunk_embedding_size 8, task_embedding_size 24:
  ``class_hyper_chunks``, ``class_emb_size``, ``class_temb_size``.
- beta_output 0.1: ``class_beta = 0.1``; lookahead on: ``no_lookahead = False``.
- hnet_init xavier: Xavier-uniform weights, zero biases, embeddings N(0, 1)
  (``mnist/train_utils.py``, ``generate_classifier``; the VAE's in
  ``mnist/replay/train_utils_replay.py``); direct_init xavier: the same for the networks
  trained directly (the baselines' target, the VAE's encoder; same functions).
- targets stored, all earlier tasks regularised: ``train_args.py`` defaults
  (``online_target_computation`` off, ``hnet_reg_batch_size = -1``).

and for the replay VAE of ``hnet_r`` and ``hnet_tir``:

- replay_enc_hidden 1000x1000: ``enc_fc_arch = '1000,1000'``; replay_latent_size 100:
  ``latent_dim = 100`` (``_set_default``).
- replay_dec_hidden None: 400,400 for HNET+R, 1000,1000 for HNET+TIR (``dec_fc_arch``).
- replay_hnet_hidden 25x25 (ELU), replay_chunk_size 85000, embeddings 8 and 24:
  ``rp_hnet_arch``, ``rp_hnet_act``, ``rp_hyper_chunks``, ``rp_emb_size``, ``rp_temb_size``.
- replay_beta None: ``rp_beta = 0.1``; replay_lr None (lr): ``enc_lr = dec_lr = 0.0001``.

What the paper does not fix and we chose: seed 0 for the permutations (the authors seed a
generator of their own), and the runner's fields (trials, CPUs).
"""

from __future__ import annotations

from studies._hypercl import PMNIST_PRESETS, hypercl_spec

SPEC = hypercl_spec(
    "hypercl_pmnist",
    "PermutedMNIST-10, chunked hypernetwork: search embeddings, chunks, beta, lr",
    PMNIST_PRESETS,
)
