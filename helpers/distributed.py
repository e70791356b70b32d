"""Running the same training on several processes, GPUs or machines, with PyTorch's own engine.

`torchrun` starts one process per device and sets RANK, LOCAL_RANK and WORLD_SIZE; here each
process joins the group (gloo on CPU, nccl on CUDA), trains its share of every global batch
under `DistributedDataParallel` (which averages the gradients), and only rank 0 logs, evaluates
and writes checkpoints. One process (plain `python`) is the same code with a group of one.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; 'cpu' | 'cuda' | 'mps' ask for one."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'mps', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is visible; use --device cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was asked for but Apple's MPS is not available; use --device cpu")
    return torch.device(name)


def launched_by_torchrun() -> bool:
    """True in a process started by `torchrun` (it sets WORLD_SIZE and RANK)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def init_process_group(device: torch.device) -> torch.device:
    """Join torchrun's group (gloo on CPU, nccl on CUDA); returns this process's device."""
    if not launched_by_torchrun() or dist.is_initialized():
        return device
    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def rank() -> int:
    """This process's number in the group (0 when not distributed)."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """How many processes share the training (1 when not distributed)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0: the one process that logs, evaluates and writes checkpoints."""
    return rank() == 0


def check_divisible(batch_size: int) -> None:
    """The global batch is split evenly across processes; refuse a size that does not divide."""
    n = world_size()
    if batch_size % n != 0:
        raise ValueError(f"batch_size {batch_size} does not divide among {n} processes; use a "
                         f"multiple of {n} (e.g. {n * max(1, batch_size // n)}), or another "
                         f"--nproc_per_node")


def shard(x: torch.Tensor) -> torch.Tensor:
    """This process's rows of a global batch (B, ...) -> (B / world_size, ...)."""
    n = world_size()
    per_rank = x.size(0) // n
    return x[rank() * per_rank : (rank() + 1) * per_rank]


def barrier() -> None:
    """Wait until every process gets here (a no-op for one process)."""
    if dist.is_initialized():
        dist.barrier()


def destroy_process_group() -> None:
    """Leave the group at the end of a run."""
    if dist.is_initialized():
        dist.destroy_process_group()
