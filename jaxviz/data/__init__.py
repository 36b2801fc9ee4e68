"""Data: the seed's and Playground's generators (:mod:`.datasets`) and their preparation
(:mod:`.prepare`): standardised, split 60/40, packed for the engine."""

from jaxviz.data.datasets import playground_dataset, raw_dataset
from jaxviz.data.prepare import DataTable, Dataset, dataset_from_arrays, load_dataset, pack, read_csv

__all__ = ["Dataset", "DataTable", "load_dataset", "raw_dataset", "playground_dataset", "dataset_from_arrays",
           "read_csv", "pack"]
