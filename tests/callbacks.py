"""A training callback for tests: records what fit() reports, on the training thread."""


class Recorder:
    def __init__(self):
        self.batches, self.epochs, self.started, self.ended = [], [], [], []

    def on_train_start(self, info):
        self.started.append(info)

    def on_batch_end(self, info):
        self.batches.append(info)

    def on_epoch_end(self, info):
        self.epochs.append(info)

    def on_train_end(self, result):
        self.ended.append(result)
