"""Module 04: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("04-losses-test-mse",),
        cell="04-losses-mse",
        region=0,
        code='''
            if tuple(prediction.shape) != tuple(target.shape):
                raise ValueError(f"shape mismatch: the prediction has shape {prediction.shape} "
                                 f"but the target has shape {target.shape}")
            squared = np.square(prediction.data - target.data)
            if self.reduction == "mean":
                squared = squared.sum() / squared.size
            elif self.reduction == "sum":
                squared = squared.sum()
            return wrap_result(squared, "mse_loss", prediction, target, reduction=self.reduction)
        ''',
        why="np.square, its own reduction instead of self.reduce (sum / size for the mean); its own "
            "error wording"),
    Alternate(
        graded=("04-losses-test-logsumexp",),
        cell="04-losses-logsumexp",
        region=0,
        code='''
            peak = np.amax(z, axis=-1, keepdims=True)
            with np.errstate(under="ignore"):
                total = np.sum(np.exp(z - peak), axis=-1, keepdims=True)
            return np.log(total) + peak
        ''',
        why="np.amax and np.sum as functions, the maximum added back last"),
    Alternate(
        graded=("04-losses-test-cross-entropy", "04-losses-test-cross-entropy-errors"),
        cell="04-losses-cross-entropy",
        region=0,
        code='''
            t = np.asarray(targets.data)
            if not np.issubdtype(t.dtype, np.integer):
                raise TypeError(f"the targets have dtype {t.dtype}, but they must be class "
                                "indices: use labels.astype(np.int64), or labels.argmax(axis=1) "
                                "for one-hot rows")
            if len(logits.shape) < 2:
                raise ValueError(f"logits must have at least 2 axes, (N, C, ...); these have "
                                 f"shape {logits.shape}")
            N, C = logits.shape[0], logits.shape[1]
            wanted = (N, *logits.shape[2:])
            if t.shape != wanted:
                raise ValueError(f"one target per row is needed: the logits are {logits.shape} "
                                 f"and the targets {t.shape}")
            if t.size and (t.min() < 0 or t.max() >= C):
                bad = t[(t < 0) | (t >= C)][0]
                raise ValueError(f"target {bad} is not a class: C = {C}, so targets go from 0 "
                                 f"to {C - 1}")
            # The classes last: (N, C) stays as it is, (N, C, d) becomes (N, d, C).
            z = logits.data.transpose(0, *range(2, logits.ndim), 1)
            log_softmax = z - logsumexp(z)
            with np.errstate(under="ignore"):
                probs = np.exp(log_softmax)
            picked = np.take_along_axis(log_softmax, np.expand_dims(t, -1), axis=-1)
            per_target = -np.squeeze(picked, axis=-1)
            result = self.reduce(per_target)
            return wrap_result(result, "cross_entropy", logits, targets,
                               probs=np.moveaxis(probs, -1, 1), reduction=self.reduction)
        ''',
        why="np.issubdtype for the dtype check, min/max for the range, a transpose to put the "
            "classes last, np.take_along_axis on the log-softmax, other error wording (no "
            "'classes', no 'int64' as a word of its own)"),
    Alternate(
        graded=("04-losses-test-bce",),
        cell="04-losses-bce",
        region=0,
        code='''
            if prediction.shape != target.shape:
                raise ValueError(f"prediction {prediction.shape} and target {target.shape} must "
                                 "have the same shape")
            p = prediction.data
            if not np.all((0 <= p) & (p <= 1)):  # nan compares False, so it fails too
                raise ValueError("the prediction must hold probabilities in [0, 1]: pass the "
                                 "output of sigmoid, not raw scores")
            y = target.data.astype(p.dtype)
            if np.any(y < 0) or np.any(y > 1):
                raise ValueError("every target must be between 0 and 1")
            with np.errstate(divide="ignore"):
                log_p = np.clip(np.log(p), -100, None)
                log_q = np.clip(np.log1p(-p), -100, None)
            per_element = -(y * log_p + (1 - y) * log_q)
            return wrap_result(self.reduce(per_element), "binary_cross_entropy",
                               prediction, target, reduction=self.reduction)
        ''',
        why="np.all / np.any checks, np.clip for the clamp, lower-case 'sigmoid' and a target "
            "message without the value"),
]
