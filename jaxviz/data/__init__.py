"""Data: the seed's and Playground's generators (:mod:`.datasets`) and their preparation
(:mod:`.prepare`): standardised, split 60/40, packed for the engine."""

from jaxviz.data.datasets import multiclass_dataset, playground_dataset, raw_dataset, regression_dataset
from jaxviz.data.prepare import DataTable, Dataset, dataset_from_arrays, infer_task, load_dataset, pack, read_csv

__all__ = ["Dataset", "DataTable", "load_dataset", "raw_dataset", "playground_dataset", "multiclass_dataset",
           "regression_dataset", "dataset_from_arrays", "infer_task", "read_csv", "pack"]
