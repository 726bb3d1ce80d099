"""hypercl_pmnist100: PermutedMNIST-100, the long task sequence of von Oswald et al. (2020,
sec. 4.2, memory lifetime): how well does each of 100 tasks survive the ones after it?

    python -m studies.run hypercl_pmnist100                         # quick preset
    python -m studies.run hypercl_pmnist100 --preset paper          # the authors' budget
    python -m analysis.report hypercl_pmnist100-quick               # accuracy of every task

The paper preset is the authors' setting (``chrhenning/hypercl``, ``mnist/train_args_default.py``,
``_set_default_permuted`` with its ``num_tasks >= 100`` branch, which the file marks "not
tested after the code migration"):

- target 1024-1000-1000 with ten outputs a task (3,027,000 weights): ``class_fc_arch =
  '1000,1000'``, ``padding = 2``.
- hypernetwork 200,250,350 with ReLU, chunk size 7500 (404 chunks), chunk embeddings of 12,
  task embeddings of 128: ``class_hnet_arch``, ``class_hnet_act``, ``class_hyper_chunks``,
  ``class_emb_size``, ``class_temb_size``; 2,816,448 trainable parameters (compression 0.930).
- every weight matrix Xavier-uniform, biases zero, embeddings N(0, 1): the hypernetwork's
  (``hnet_init = "xavier"``) and those of a network trained directly (``direct_init``);
  ``mnist/train_utils.py``, ``generate_classifier``.
- beta_output 0.01 (``class_beta``), look-ahead on (``no_lookahead = False``), every earlier
  task regularised, stored targets.
- 5000 iterations of batch 128 a task, Adam 1e-4 (``n_iter``, ``batch_size``, ``class_lr``,
  ``class_lr_emb``, from the PermutedMNIST defaults).

One trial, the grid's point (the search fields of ``hypercl_pmnist`` stay available with
``--sampler tpe``). What the quick preset changes, to fit a laptop (about 15 min on 2 cores,
see docs/results.md): 50 iterations a task (instead of 5000), no look-ahead; each step
regularises 8 earlier tasks drawn anew (``reg_tasks_per_step``) instead of all; each task is
evaluated right after it is learned and after the last task only (``eval_during`` off), on 500
test images.
"""

from __future__ import annotations

from studies._hypercl import HyperCLConfig, hypercl_spec

AUTHORS: dict = dict(
    benchmark="pmnist", num_tasks=100, target_hidden=(1000, 1000), hnet_hidden="200x250x350",
    hnet_init="xavier", direct_init="xavier", hnet_activation="relu", chunk_size=7500,
    num_chunks=404, chunk_embedding_size=12, task_embedding_size=128, beta_output=0.01,
    lookahead=True, lr=1e-4, n_trials=1,
    hnet_hidden_choices=("200x250x350",), chunk_counts=(404,), chunk_embedding_sizes=(12,),
    task_embedding_sizes=(128,))

PRESETS = {
    "smoke": HyperCLConfig(
        num_tasks=4, target_hidden=(20,), iterations=5, batch_size=32, max_eval_examples=100,
        hnet_hidden="5x5", hnet_hidden_choices=("5x5",), num_chunks=4, chunk_counts=(4,),
        task_embedding_size=4, task_embedding_sizes=(4,), chunk_embedding_size=4,
        chunk_embedding_sizes=(4,), eval_during=False, reg_tasks_per_step=2, n_trials=1,
        task_inference=True),
    "quick": HyperCLConfig(**{**AUTHORS, "lookahead": False}, iterations=50,
                           reg_tasks_per_step=8, max_eval_examples=500, eval_during=False,
                           cpus_per_trial=2.0),
    "paper": HyperCLConfig(**AUTHORS, iterations=5000, cpus_per_trial=2.0),
}

SPEC = hypercl_spec(
    "hypercl_pmnist100",
    "PermutedMNIST-100: each task's accuracy after all 100 (memory lifetime)",
    PRESETS,
    sampler="grid",
    pruner="none",
)
