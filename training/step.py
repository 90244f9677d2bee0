"""One optimisation step, as training does it: autocast, scaled backward, optimizer and scheduler step,
and the weight average. `fit` runs it for every batch; the wizard's time estimate times the very same
step, so the estimate pays for everything a real epoch pays for."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from . import distributed
from .config import TrainConfig
from .schedule import PlateauCut, lr_factor


def make_optimizer(modules, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters of `modules` (the model and any task modules)."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def amp_settings(config: TrainConfig, device: torch.device) -> tuple[bool, torch.dtype]:
    """(use autocast, its dtype): mixed precision only on CUDA, bf16 where the GPU has it."""
    use_amp = bool(config.amp) and device.type == "cuda"
    return use_amp, torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16


@dataclass
class TrainingStep:
    """The optimizer, schedule, gradient scaler and weight average of one run, and the step that uses them."""

    setup: object  # the task setup: its model, extra modules and loss
    modules: dict[str, torch.nn.Module]  # "model" and the task's extra trainable modules
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    plateau: PlateauCut | None
    scaler: torch.amp.GradScaler
    use_amp: bool
    amp_dtype: torch.dtype
    ema: torch.optim.swa_utils.AveragedModel | None
    loss_fn: Callable | None = None  # the task's loss, inside DistributedDataParallel under torchrun

    @classmethod
    def build(cls, setup, config: TrainConfig, device: torch.device, steps_per_epoch: int) -> "TrainingStep":
        modules = {"model": setup.model.to(device), **setup.extra_modules()}
        loss_fn = distributed.wrap_loss(setup, modules, device)  # before the average copies the weights
        optimizer = make_optimizer(modules.values(), config)
        plateau = PlateauCut() if config.scheduler == "plateau" else None
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lr_factor(config.scheduler, config.warmup_epochs, config.epochs, steps_per_epoch, plateau))
        use_amp, amp_dtype = amp_settings(config, device)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        ema = torch.optim.swa_utils.AveragedModel(
            setup.model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema), use_buffers=True) \
            if config.ema else None
        return cls(setup, modules, optimizer, scheduler, plateau, scaler, use_amp, amp_dtype, ema, loss_fn)

    @property
    def saved_modules(self) -> dict[str, torch.nn.Module]:
        """What last.pt keeps: the trainable modules and the average (saved, never optimised)."""
        return {**self.modules, "ema": self.ema} if self.ema is not None else self.modules

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def train_mode(self) -> None:
        for module in self.modules.values():
            module.train()

    def __call__(self, batch) -> float:
        """One optimisation step on `batch`; returns its loss."""
        with torch.autocast(self.setup.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            loss = (self.loss_fn or self.setup.loss)(batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.setup.model)
        return float(loss.detach())
