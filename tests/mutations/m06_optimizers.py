"""Module 06: plausible wrong answers for its graded cells (see __init__.py)."""

from mutations import Mutation

MUTATIONS = [
    Mutation("06-optimizers-test-base", "06-optimizers-base",
             'for p in group["params"]:\n                p.grad = None',
             'for p in group["params"]:\n                p.grad = Tensor(np.zeros_like(p.data))',
             "zero_grad fills the gradients with zeros instead of setting them to None"),
    Mutation("06-optimizers-test-base", "06-optimizers-base",
             'group = {**self.defaults, **param_group, "params": unique}',
             'group = {**param_group, **self.defaults, "params": unique}',
             "the defaults overwrite the group's own settings instead of filling in the missing ones"),
    Mutation("06-optimizers-test-base", "06-optimizers-base",
             "            if p in in_other_groups:\n",
             "            if False:\n",
             "forgets to refuse a parameter that is already in another group"),
    Mutation("06-optimizers-test-sgd", "06-optimizers-sgd",
             "p.data -= lr * g", "p.data = p.data - lr * g",
             "rebinds p.data to a new array instead of updating it in place"),
    Mutation("06-optimizers-test-sgd", "06-optimizers-sgd",
             'lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]',
             'lr, momentum, weight_decay = self.defaults["lr"], group["momentum"], group["weight_decay"]',
             "steps every group with the constructor's lr instead of the group's own"),
    Mutation("06-optimizers-test-sgd-momentum", "06-optimizers-sgd",
             'buf = state["momentum_buffer"] = np.array(g)', 'buf = state["momentum_buffer"] = g',
             "keeps the gradient array itself as the momentum buffer (aliasing p.grad)"),
    Mutation("06-optimizers-test-adam", "06-optimizers-adam",
             'step_size = group["lr"] / (1 - beta1**t)', 'step_size = group["lr"]',
             "forgets the bias correction of the first moment"),
    Mutation("06-optimizers-test-adam", "06-optimizers-adam",
             "self._adam_update(p, g, group)", "self._adam_update(p, g, self.param_groups[0])",
             "updates every parameter with the settings of the first group"),
    Mutation("06-optimizers-test-adamw", "06-optimizers-adamw",
             'p.data *= 1 - group["lr"] * group["weight_decay"]', 'g = g + group["weight_decay"] * p.data',
             "adds the decay to the gradient (Adam's L2) instead of decoupling it"),
    Mutation("06-optimizers-test-sgd-momentum", "06-optimizers-sgd",
             "buf *= momentum\n                        buf += g",
             "buf = momentum * buf + g",
             "rebinds the local buf to a new array, so the buffer in state never changes after "
             "the first step"),
    Mutation("06-optimizers-test-adam", "06-optimizers-adam",
             'state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(p.data),\n'
             '                                     "exp_avg_sq": np.zeros_like(p.data)}',
             'zeros = np.zeros_like(p.data)\n'
             '            state = self.state[p] = {"step": 0, "exp_avg": zeros, "exp_avg_sq": zeros}',
             "one zeros array for both running averages: m and v are the same array"),
    Mutation("06-optimizers-test-adam", "06-optimizers-adam",
             '{"step": 0, "exp_avg"', '{"step": 1, "exp_avg"',
             "off by one: the step count starts at 1, so the first step is corrected as t = 2"),
    Mutation("06-optimizers-test-adamw", "06-optimizers-adamw",
             '                if group["weight_decay"] != 0:\n'
             '                    p.data *= 1 - group["lr"] * group["weight_decay"]\n'
             '                self._adam_update(p, g, group)',
             '                self._adam_update(p, g, group)\n'
             '                if group["weight_decay"] != 0:\n'
             '                    p.data *= 1 - group["lr"] * group["weight_decay"]',
             "decays after Adam's step instead of before it"),
]
