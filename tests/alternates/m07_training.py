"""Module 07: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

TRAINER = ("07-training-test-train-epoch", "07-training-test-evaluate", "07-training-test-fit",
           "07-training-test-xor")

ALTERNATES = [
    Alternate(
        graded=("07-training-test-accuracy",),
        cell="07-training-accuracy",
        region=0,
        code='''
            p = np.asarray(predictions.data if isinstance(predictions, Tensor) else predictions)
            t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
            given = f"predictions of shape {p.shape} and targets of shape {t.shape}"
            if p.ndim == 2 and p.shape[1] > 1:
                guess = np.argmax(p, axis=1)
                if t.shape == p.shape:
                    t = np.argmax(t, axis=1)
            elif p.ndim in (1, 2):
                guess = (p.ravel() > 0.5).astype(np.int64)
                if t.ndim == 2 and t.shape[1] == 1:
                    t = t[:, 0]
            else:
                raise ValueError(f"accuracy cannot read {given}")
            n = len(guess)
            if n == 0 or t.shape != (n,):
                raise ValueError(f"accuracy: {given} do not fit together")
            return float((guess == t).sum()) / n
        ''',
        why="np.argmax and 0/1 integer predictions, the shapes kept in a message made up front"),
    Alternate(
        graded=("07-training-test-clip-grad-norm",),
        cell="07-training-clip-grad-norm",
        region=0,
        code='''
            with_grad = [p for p in parameters if p.grad is not None]
            squares = 0.0
            for p in with_grad:
                squares += float(np.sum(np.square(p.grad.data, dtype=np.float64)))
            norm = squares ** 0.5
            if norm > max_norm:
                factor = max_norm / (norm + 1e-6)
                for p in with_grad:
                    np.multiply(p.grad.data, factor, out=p.grad.data)
            return norm
        ''',
        why="squares in float64 with np.square, ** 0.5, and np.multiply(..., out=) for in place"),
    Alternate(
        graded=("07-training-test-schedulers", "07-training-test-fit"),
        cell="07-training-schedulers",
        region=0,
        code='''
            self.last_epoch = self.last_epoch + 1
            new_lrs = [float(lr) for lr in self.get_lr()]
            self._last_lr = new_lrs[:]
            for index in range(len(new_lrs)):
                self.optimizer.param_groups[index]["lr"] = new_lrs[index]
        ''',
        why="stores the list before the groups' lr, and indexes the groups"),
    Alternate(
        graded=("07-training-test-schedulers", "07-training-test-fit"),
        cell="07-training-schedulers",
        region=1,
        code='''
            decays = math.floor(self.last_epoch / self.step_size)
            lrs = []
            for base in self.base_lrs:
                lrs.append(base * math.pow(self.gamma, decays))
            return lrs
        ''',
        why="math.floor of a true division and math.pow"),
    Alternate(
        graded=("07-training-test-schedulers",),
        cell="07-training-schedulers",
        region=2,
        code='''
            progress = self.last_epoch / self.T_max
            return [self.eta_min + 0.5 * (base - self.eta_min) * (1 + math.cos(progress * math.pi))
                    for base in self.base_lrs]
        ''',
        why="the fraction of T_max first, the one half in front"),
    Alternate(
        graded=TRAINER,
        cell="07-training-trainer",
        region=0,
        code='''
            self.optimizer.zero_grad()  # before the forward pass: the same gradients
            prediction = self.model(inputs)
            loss = self.loss_fn(prediction, targets)
            loss.backward()
            if self.max_grad_norm is not None:
                clip_grad_norm(list(self.model.parameters()), max_norm=self.max_grad_norm)
            self.optimizer.step()
            return float(loss.item()), prediction
        ''',
        why="zeroes the gradients before the forward pass"),
    Alternate(
        graded=TRAINER,
        cell="07-training-trainer",
        region=1,
        code='''
            self.model.train()
            totals = self._start_totals()
            for batch in batches:
                inputs, targets = batch
                batch_loss, batch_out = self.train_step(inputs, targets)
                self._add_batch(totals, batch_loss, batch_out, targets)
                if progress is not None:
                    mean_so_far = totals["loss"] / totals["samples"]
                    progress.update(loss=mean_so_far)
            return self._averages(totals)
        ''',
        why="unpacks each batch inside the loop and names the running mean"),
    Alternate(
        graded=TRAINER,
        cell="07-training-trainer",
        region=2,
        code='''
            was_training = self.model.training
            totals = self._start_totals()
            self.model.eval()
            try:
                with no_grad():
                    for inputs, targets in batches:
                        prediction = self.model(inputs)
                        batch_loss = float(self.loss_fn(prediction, targets).item())
                        self._add_batch(totals, batch_loss, prediction, targets)
            finally:
                if was_training:
                    self.model.train()
                else:
                    self.model.eval()
            return self._averages(totals)
        ''',
        why="restores the mode with train() or eval() by hand"),
    Alternate(
        graded=TRAINER,
        cell="07-training-trainer",
        region=3,
        code='''
            self.epoch = self.epoch + 1
            epoch_lr = self.optimizer.param_groups[0]["lr"]
            began = time.perf_counter()
            bar = ProgressBar(_length(train_batches), f"epoch {self.epoch}/{last}", enabled=progress)
            results = {}
            for name, value in self.train_epoch(train_batches, bar).items():
                results["train_" + name] = value
            if val_batches is not None:
                for name, value in self.evaluate(val_batches).items():
                    results["val_" + name] = value
            if self.scheduler is not None:
                self.scheduler.step()
            elapsed = time.perf_counter() - began
            self._record(epoch=self.epoch, lr=epoch_lr, time=elapsed, **results)
            bar.close(**results)
        ''',
        why="builds the results with loops instead of dict comprehensions"),
]
