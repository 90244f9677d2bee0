"""A training callback that draws tqdm progress bars on the terminal (the CLI's view of `fit`)."""
from __future__ import annotations

from tqdm import tqdm


class TqdmProgress:
    def __init__(self, disable: bool = False):
        self.disable = disable
        self.bar = None

    def on_train_start(self, info):
        if not self.disable:
            tqdm.write(f"training {info['task']} on {info['device']}{' (mixed precision)' if info['amp'] else ''}; "
                       f"run folder {info['run_dir']}")

    def on_batch_end(self, info):
        if self.bar is None:
            self.bar = tqdm(total=info["batches"], desc=f"epoch {info['epoch']}", disable=self.disable,
                            leave=False, unit="batch")
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{info['smoothed_loss']:.4f}", lr=f"{info['lr']:.2e}")

    def on_epoch_end(self, info):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if not self.disable:
            sel = info["selection"]
            tqdm.write(f"epoch {info['epoch']}/{info['epochs']}: train loss {info['train_loss']:.4f}, "
                       f"val loss {info['val_loss']:.4f}, {sel} {info[sel]:.4f}"
                       f"{'  (best)' if info['best'] else ''}  [{info['epoch_seconds']:.1f}s]")

    def on_train_end(self, result):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if not self.disable and result.stop_reason == "early_stopping":
            tqdm.write("stopped early: the validation score stopped improving")
