"""Module 03: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    # ----- Module -----------------------------------------------------------------------------
    Alternate(
        graded=("03-layers-test-module-parameters",),
        cell="03-layers-module",
        region=0,
        code='''
            pairs = []
            for name, value in vars(self).items():
                if isinstance(value, Module):
                    candidates = [(name, value)]
                elif isinstance(value, (list, tuple)):
                    candidates = [(f"{name}.{i}", item) for i, item in enumerate(value)]
                else:
                    candidates = []
                pairs += [(n, m) for n, m in candidates if isinstance(m, Module)]
            return pairs
        ''',
        why="collects candidates first, then keeps the Modules"),
    Alternate(
        graded=("03-layers-test-module-parameters", "03-layers-test-module-modes"),
        cell="03-layers-module",
        region=1,
        code='''
            result, seen = [], set()
            stack = [("", self)]
            while stack:
                name, module = stack.pop()
                if id(module) in seen:
                    continue
                seen.add(id(module))
                result.append((name, module))
                children = [(f"{name}.{child}" if name else child, m) for child, m in module.named_children()]
                stack.extend(reversed(children))
            return result
        ''',
        why="an explicit stack instead of recursion"),
    Alternate(
        graded=("03-layers-test-module-parameters",),
        cell="03-layers-module",
        region=2,
        code='''
            by_id = {}
            for prefix, module in self.named_modules():
                for attr, value in vars(module).items():
                    if _is_parameter(value) and id(value) not in by_id:
                        by_id[id(value)] = (prefix + "." + attr if prefix else attr, value)
            return list(by_id.values())
        ''',
        why="a dict keyed by id, which keeps the first name and the order"),
    Alternate(
        graded=("03-layers-test-module-modes",),
        cell="03-layers-module",
        region=3,
        code='''
            if type(mode) is not bool:
                raise TypeError(f"mode must be a bool, not {type(mode).__name__} {mode!r}")
            for _, module in self.named_modules():
                module.training = mode
            return self
        ''',
        why="type(mode) is not bool, and its own message; loops over named_modules"),
    Alternate(
        graded=("03-layers-test-module-modes",),
        cell="03-layers-module",
        region=4,
        code='''
            for _, parameter in self.named_parameters():
                parameter.grad = None
        ''',
        why="loops over named_parameters"),
    # ----- Linear -----------------------------------------------------------------------------
    Alternate(
        graded=("03-layers-test-linear-init",),
        cell="03-layers-linear",
        region=0,
        code='''
            g = _generator(rng)
            limit = 1 / np.sqrt(self.in_features)
            w = g.uniform(low=-limit, high=limit, size=(self.in_features, self.out_features))
            b = g.uniform(low=-limit, high=limit, size=(self.out_features,)) if bias else None
            self.weight = Tensor(w, dtype=dtype, requires_grad=True)
            self.bias = None if b is None else Tensor(b, dtype=dtype, requires_grad=True)
        ''',
        why="draws both arrays first, keyword arguments, conditional expressions"),
    Alternate(
        graded=("03-layers-test-linear-forward",),
        cell="03-layers-linear",
        region=1,
        code='''
            x = x if isinstance(x, Tensor) else Tensor(x)
            if not x.shape or x.shape[-1] != self.in_features:
                raise ValueError(f"expected an input whose last dimension is in_features={self.in_features}, "
                                 f"got one of shape {x.shape}")
            y = x @ self.weight
            if self.bias is not None:
                y = y + self.bias
            return y
        ''',
        why="names the last dimension through the shape; adds the bias in an if"),
    # ----- Sequential -------------------------------------------------------------------------
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=0,
        code='''
            for position, layer in enumerate(layers):
                if isinstance(layer, type) or not callable(layer):
                    raise TypeError(f"argument {position} of Sequential is {layer!r}, not a layer: "
                                    "pass layer objects such as Linear(2, 3), one per argument")
            self.layers = [*layers]
        ''',
        why="one check for classes and non-callables, with its own wording"),
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=1,
        code='''
            out = x
            for f in self.layers:
                out = f(out)
            return out
        ''',
        why="a separate variable for the running output"),
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=2,
        code='''
            pairs = []
            for position, layer in enumerate(self.layers):
                if isinstance(layer, Module):
                    pairs.append((f"{position}", layer))
            return pairs
        ''',
        why="a loop and an f-string instead of a comprehension"),
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=3,
        code='''
            return sum(1 for _ in self.layers)
        ''',
        why="counts the layers"),
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=4,
        code='''
            yield from self.layers
        ''',
        why="a generator"),
    Alternate(
        graded=("03-layers-test-sequential",),
        cell="03-layers-sequential",
        region=5,
        code='''
            picked = self.layers[index]
            return Sequential(*picked) if isinstance(index, slice) else picked
        ''',
        why="indexes first, then wraps a slice"),
    # ----- Dropout ----------------------------------------------------------------------------
    Alternate(
        graded=("03-layers-test-dropout",),
        cell="03-layers-dropout",
        region=0,
        code='''
            if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0.0 <= p <= 1.0:
                raise ValueError(f"Dropout(p={p!r}): p is the probability of zeroing each element, "
                                 "a number with 0 <= p <= 1")
            self.p = float(p)
            self.rng = _generator(rng) if rng is not None else None
        ''',
        why="one condition, np.number, the message shows repr(p)"),
    Alternate(
        graded=("03-layers-test-dropout",),
        cell="03-layers-dropout",
        region=1,
        code='''
            x = x if isinstance(x, Tensor) else Tensor(x)
            if self.p == 0 or not self.training:
                return x
            dtype = x.dtype if x.dtype.kind == "f" else np.float32
            if self.p == 1:
                return x * np.zeros(x.shape, dtype=dtype)  # every element dropped
            rng = _generator(self.rng)  # None: the default generator as it is now; else the layer's own
            mask = (rng.random(x.shape) >= self.p) * (1.0 / (1.0 - self.p))
            return x * mask.astype(dtype)
        ''',
        why="float64 draws, the mask from a bool array times the scale, _generator(self.rng), "
            "p = 1 as an early return"),
]
