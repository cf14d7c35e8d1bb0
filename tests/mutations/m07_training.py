"""Module 07: plausible wrong answers for its graded cells (see __init__.py)."""

from mutations import Mutation

MUTATIONS = [
    Mutation("07-training-test-accuracy", "07-training-accuracy",
             "predicted = scores.argmax(axis=1)", "predicted = scores.argmax(axis=0)",
             "wrong axis: the argmax of each column instead of each row"),
    Mutation("07-training-test-clip-grad-norm", "07-training-clip-grad-norm",
             "g *= scale", "g = g * scale",
             "scales a new array instead of the gradient in place, so nothing is clipped"),
    Mutation("07-training-test-schedulers", "07-training-schedulers",
             "self.last_epoch += 1\n"
             "        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):\n"
             '            group["lr"] = lr\n',
             "for group, lr in zip(self.optimizer.param_groups, self.get_lr()):\n"
             '            group["lr"] = lr\n'
             "        self.last_epoch += 1\n",
             "off by one: computes the learning rates before counting the epoch"),
    Mutation("07-training-test-schedulers", "07-training-schedulers",
             "        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):\n"
             '            group["lr"] = lr\n',
             '        self.optimizer.param_groups[0]["lr"] = self.get_lr()[0]\n',
             "sets the learning rate of the first group only"),
    Mutation("07-training-test-train-epoch", "07-training-trainer",
             "        self.optimizer.zero_grad()\n        loss.backward()",
             "        loss.backward()",
             "forgets to zero the old gradients before backward"),
    Mutation("07-training-test-evaluate", "07-training-trainer",
             "        self.model.eval()\n        totals = self._start_totals()\n        try:",
             "        totals = self._start_totals()\n        try:",
             "evaluates in training mode (forgets model.eval())"),
    Mutation("07-training-test-fit", "07-training-trainer",
             "self._record(epoch=self.epoch, lr=lr,",
             'self._record(epoch=self.epoch, lr=self.optimizer.param_groups[0]["lr"],',
             "records the learning rate after the scheduler changed it, not the one the epoch "
             "used"),
    Mutation("07-training-test-xor", "07-training-trainer",
             "        self.optimizer.zero_grad()\n        loss.backward()",
             "        loss.backward()\n        self.optimizer.zero_grad()",
             "zeroes the gradients after backward instead of before, so step() sees none"),
    Mutation("07-training-test-accuracy", "07-training-accuracy",
             "            labels = labels.reshape(-1)\n", "            labels.shape = (-1,)\n",
             "flattens (N, 1) targets by assigning to .shape, which reshapes the caller's tensor"),
]
