"""Module 02: plausible wrong answers for its graded cells (see __init__.py)."""

from mutations import Mutation

MUTATIONS = [
    Mutation("02-activations-test-sigmoid", "02-activations-sigmoid",
             "numerator / (1 + np.exp(-np.abs(x.data)))", "1 / (1 + np.exp(-x.data))",
             "the textbook 1 / (1 + exp(-x)), which overflows for large negative x"),
    Mutation("02-activations-test-gelu", "02-activations-gelu",
             "0.5 * x.data * (1 + np.tanh(inner))", "0.5 * clipped * (1 + np.tanh(inner))",
             "uses the clipped x in the factor 0.5 * x as well, so gelu(1000) comes out as 10"),
    Mutation("02-activations-test-softmax", "02-activations-softmax",
             "shifted = x.data - x.data.max(axis=self.dim, keepdims=True)", "shifted = x.data",
             "forgets to subtract the max before exp, which overflows for large logits"),
    Mutation("02-activations-test-softmax", "02-activations-softmax",
             "shifted = x.data - x.data.max(axis=self.dim, keepdims=True)",
             "shifted = x.data\n            shifted -= x.data.max(axis=self.dim, keepdims=True)",
             "subtracts the max in place, changing the caller's tensor (softmax is shift-invariant, "
             "so its values alone do not show it)"),
    Mutation("02-activations-test-log-softmax", "02-activations-log-softmax",
             "result = shifted - np.log(np.exp(shifted).sum(axis=self.dim, keepdims=True))",
             "exps = np.exp(shifted)\n"
             "            result = np.log(exps / exps.sum(axis=self.dim, keepdims=True))",
             "log of the stable softmax: a probability that underflows to 0 gives log(0) = -inf"),
    Mutation("02-activations-test-log-softmax", "02-activations-log-softmax",
             "shifted = x.data - x.data.max(axis=self.dim, keepdims=True)", "shifted = x.data",
             "forgets to subtract the max before exp, which overflows for large logits"),
    Mutation("02-activations-test-slope", "02-activations-slope",
             "x64 = x.data.astype(np.float64)", "x64 = x.data",
             "measures in x's own dtype: in float32, x + 1e-6 is x rounded, and the slope is noise"),
    Mutation("02-activations-test-slope", "02-activations-slope",
             "below = fn(Tensor(x64 - h, dtype=np.float64)).data\n    return (above - below) / (2 * h)",
             "below = fn(Tensor(x64, dtype=np.float64)).data\n    return (above - below) / h",
             "the one-sided difference (f(x + h) - f(x)) / h, off by about h f''(x) / 2"),
    Mutation("02-activations-test-slope", "02-activations-slope",
             "or not h > 0:", "or h is None:",
             "checks only that h was given: h = 0 divides by zero and a negative h passes"),
]
