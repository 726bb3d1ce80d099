"""Datasets for hypernetwork studies: PTB (char and word), MNIST and its continual-learning
variants, CIFAR-10. Files are found, SHA-256 checked and, where possible, downloaded by
:mod:`hnet_core.data._files`; loaders return torch tensors and never import optuna, ray or pandas.
"""

from hnet_core.data._files import (
    ENV_VAR,
    KNOWN_FILES,
    CorruptDatasetError,
    DatasetError,
    MissingDatasetError,
    data_roots,
    default_cache_dir,
    resolve,
    resolve_all,
)
from hnet_core.data.cifar import ARCHIVE as CIFAR10_ARCHIVE
from hnet_core.data.cifar import CIFAR10, load_cifar10, read_cifar10
from hnet_core.data.images import ImageSplits, cifar10_splits, mnist_splits
from hnet_core.data.mnist import (
    MNIST,
    MNIST_FILES,
    SPLIT_MNIST_DIGITS,
    Task,
    TaskSplit,
    check_digit_groups,
    load_mnist,
    permuted_mnist,
    split_mnist,
)
from hnet_core.data.ptb import BPTTBatches, TokenCorpus, batchify, load_ptb_char, load_ptb_word

__all__ = [
    "BPTTBatches",
    "CIFAR10",
    "CIFAR10_ARCHIVE",
    "CorruptDatasetError",
    "DatasetError",
    "ENV_VAR",
    "ImageSplits",
    "KNOWN_FILES",
    "MNIST",
    "MNIST_FILES",
    "MissingDatasetError",
    "SPLIT_MNIST_DIGITS",
    "Task",
    "TaskSplit",
    "TokenCorpus",
    "batchify",
    "check_digit_groups",
    "cifar10_splits",
    "data_roots",
    "default_cache_dir",
    "load_cifar10",
    "load_mnist",
    "load_ptb_char",
    "load_ptb_word",
    "mnist_splits",
    "permuted_mnist",
    "read_cifar10",
    "resolve",
    "resolve_all",
    "split_mnist",
]
