"""hnet_core: hypernetwork models, datasets and trainers in plain PyTorch.

Follows Ha, Dai & Le, *HyperNetworks* (ICLR 2017) and von Oswald et al., *Continual learning with
hypernetworks* (ICLR 2020). Never imports optuna, ray or pandas: those belong to ``studies`` and
``analysis``.
"""

__version__ = "0.1.0"
