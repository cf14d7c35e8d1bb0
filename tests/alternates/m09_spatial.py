"""Module 09: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("09-spatial-test-im2col",),
        cell="09-spatial-im2col",
        region=0,
        code='''
            padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
            windows = windows[:, :, ::sh, ::sw][:, :, :out_h, :out_w]  # (N, C, H_out, W_out, kh, kw)
            return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * out_h * out_w)
        ''',
        why="sliding_window_view of np.pad, then one transpose and reshape (the route the "
            "notebook mentions)"),
    Alternate(
        graded=("09-spatial-test-conv2d",),
        cell="09-spatial-conv2d",
        region=0,
        code='''
            if x.shape[1] != weight.shape[1]:
                raise ValueError(f"conv2d: input channels {x.shape[1]} do not match the weight's "
                                 f"in_channels {weight.shape[1]}")
            n = x.shape[0]
            cols = im2col(x.data, (kh, kw), stride, padding)       # the whole batch at once
            product = weight.data.reshape(n_out, -1) @ cols
            if bias is not None:
                product = product + bias.data[:, None]
            result = np.ascontiguousarray(product.reshape(n_out, n, out_h, out_w).transpose(1, 0, 2, 3))
            args = [x, weight] + ([bias] if bias is not None else [])
            return wrap_result(result, "conv2d", *args, stride=stride, padding=padding)
        ''',
        why="one im2col for the whole batch (no chunks), the bias added to the product, and "
            "np.ascontiguousarray for the stated layout"),
    Alternate(
        graded=("09-spatial-test-conv2d-backward",),
        cell="09-spatial-conv2d-backward",
        region=0,
        code='''
            blocks = cols.reshape(c, kh, kw, n, out_h, out_w).transpose(3, 0, 1, 2, 4, 5)
            result = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
            for i in range(kh):
                rows = slice(i, i + sh * out_h, sh)
                for j in range(kw):
                    result[:, :, rows, j:j + sw * out_w:sw] += blocks[:, :, i, j]
            return result[:, :, ph:result.shape[2] - ph, pw:result.shape[3] - pw]
        ''',
        why="adds in the (N, C, H, W) layout directly, so no transpose at the end"),
    Alternate(
        graded=("09-spatial-test-conv2d-backward",),
        cell="09-spatial-conv2d-backward",
        region=1,
        code='''
            o = weight.shape[0]
            g = np.moveaxis(grad, 1, 0).reshape(o, -1)
            grad_weight = np.tensordot(g, im2col(x, kernel_size, stride, padding), axes=(1, 1))
            grad_weight = grad_weight.reshape(weight.shape)
            if not need_x:
                return None, grad_weight
            cols_grad = weight.reshape(o, -1).T @ g
            return col2im(cols_grad, x.shape, kernel_size, stride, padding), grad_weight
        ''',
        why="np.moveaxis and np.tensordot, G @ cols.T in the textbook orientation, an early return"),
    Alternate(
        graded=("09-spatial-test-conv2d-backward-chunks",),
        cell="09-spatial-conv2d-backward-chunks",
        region=0,
        code='''
            n_out = weight.shape[0]
            kernel = weight.shape[2:]
            w_matrix = weight.data.reshape(n_out, -1)
            grad_weight = np.zeros(weight.shape, dtype=grad.dtype)
            grad_x = None
            if x.requires_grad:
                grad_x = np.zeros(x.shape, dtype=grad.dtype)
            per_image = w_matrix.shape[1] * grad.shape[2] * grad.shape[3] * x.data.itemsize
            for part in _image_chunks(len(x.data), per_image):
                g = np.moveaxis(grad[part], 1, 0).reshape(n_out, -1)
                cols = im2col(x.data[part], kernel, stride, padding)
                grad_weight += (g @ cols.T).reshape(weight.shape)
                if grad_x is not None:
                    grad_x[part] = col2im(w_matrix.T @ g, x.data[part].shape, kernel, stride, padding)
        ''',
        why="the chunk's columns and col2im written out in the loop instead of calling "
            "conv2d_backward_batch, and no conv2d_grad_input"),
    Alternate(
        graded=("09-spatial-test-conv2d-module",),
        cell="09-spatial-conv2d-module",
        region=0,
        code='''
            kh, kw = self.kernel_size
            fan_in = in_channels * kh * kw
            bound = 1 / np.sqrt(fan_in)
            gen = _generator(rng)
            w_values = gen.uniform(low=-bound, high=bound, size=(out_channels, in_channels, kh, kw))
            self.weight = Tensor(w_values, dtype=dtype, requires_grad=True)
            self.bias = None
            if bias:
                b_values = gen.uniform(low=-bound, high=bound, size=(out_channels,))
                self.bias = Tensor(b_values, dtype=dtype, requires_grad=True)
        ''',
        why="np.sqrt and keyword arguments; bias set to None first, replaced when wanted"),
    Alternate(
        graded=("09-spatial-test-conv2d-module",),
        cell="09-spatial-conv2d-module",
        region=1,
        code='''
            return conv2d(x, weight=self.weight, bias=self.bias, stride=self.stride,
                          padding=self.padding)
        ''',
        why="keyword arguments"),
    Alternate(
        graded=("09-spatial-test-max-pool",),
        cell="09-spatial-max-pool",
        region=0,
        code='''
            n, c = x.shape[:2]
            windows = _sliding_window_view(x.data, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
            rows = windows.reshape(n, c, out_h, out_w, kernel[0] * kernel[1])  # a row per window
            where = rows.argmax(axis=-1)
            best = rows.max(axis=-1)
            return wrap_result(best, "max_pool2d", x, kernel_size=kernel, stride=stride, where=where)
        ''',
        why="a window view, argmax for the positions and max for the values (the other plan in the text)"),
    Alternate(
        graded=("09-spatial-test-max-pool",),
        cell="09-spatial-max-pool",
        region=0,
        code='''
            (kh, kw), (sh, sw) = kernel, stride
            out = where = None
            for i in range(kh):  # the whole batch at once, `where` as np.intp: no chunks, one core
                for j in range(kw):
                    part = x.data[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw]
                    if out is None:
                        out, where = part.copy(), np.zeros(part.shape, dtype=np.intp)
                    else:
                        larger = part > out
                        np.maximum(out, part, out=out)
                        where += larger * (i * kw + j - where)
            return wrap_result(out, "max_pool2d", x, kernel_size=kernel, stride=stride, where=where)
        ''',
        why="the running maximum as a plain loop over the whole batch with an np.intp `where`, "
            "no _for_each_chunk (the text says a plain loop passes too)"),
    Alternate(
        graded=("09-spatial-test-max-pool",),
        cell="09-spatial-max-pool",
        region=1,
        code='''
            where = out.saved["where"]
            out_h, out_w = grad.shape[2:]
            grad_x = np.zeros(x.shape, dtype=grad.dtype)
            for i in range(kh):  # the whole batch at once, np.where as the text's plan says
                for j in range(kw):
                    hit = where == i * kw + j
                    grad_x[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw] += np.where(hit, grad, 0)
            return (grad_x,)
        ''',
        why="the backward as a plain loop over the whole batch with np.where, no chunks"),
    Alternate(
        graded=("09-spatial-test-max-pool",),
        cell="09-spatial-max-pool",
        region=1,
        code='''
            where = out.saved["where"]
            n, c, out_h, out_w = grad.shape
            grad_x = np.zeros(x.shape, dtype=grad.dtype)
            ys = np.arange(out_h).reshape(1, 1, -1, 1) * sh + where // kw
            xs = np.arange(out_w).reshape(1, 1, 1, -1) * sw + where % kw
            images = np.arange(n).reshape(-1, 1, 1, 1)
            channels = np.arange(c).reshape(1, -1, 1, 1)
            np.add.at(grad_x, (images, channels, ys, xs), grad)
            return (grad_x,)
        ''',
        why="computes each maximum's pixel and scatters with np.add.at"),
    Alternate(
        graded=("09-spatial-test-avg-pool",),
        cell="09-spatial-avg-pool",
        region=0,
        code='''
            (kh, kw), (sh, sw) = kernel, stride
            n, c, h, w = x.shape
            out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
            total = np.zeros((n, c, out_h, out_w), dtype=x.data.dtype)
            for i in range(kh):
                for j in range(kw):
                    total += x.data[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw]
            return wrap_result(total / (kh * kw), "avg_pool2d", x, kernel_size=kernel, stride=stride)
        ''',
        why="sums strided slices over the window offsets, then divides"),
    Alternate(
        graded=("09-spatial-test-avg-pool",),
        cell="09-spatial-avg-pool",
        region=1,
        code='''
            n, c, out_h, out_w = grad.shape
            grad_x = np.zeros(x.shape, dtype=grad.dtype)
            area = kh * kw
            for y in range(out_h):       # every output position spreads its gradient on its window
                for z in range(out_w):
                    grad_x[:, :, y * sh:y * sh + kh, z * sw:z * sw + kw] += grad[:, :, y:y + 1, z:z + 1] / area
            return (grad_x,)
        ''',
        why="a loop over the output positions instead of the window offsets"),
    Alternate(
        graded=("09-spatial-test-batchnorm",),
        cell="09-spatial-batchnorm",
        region=0,
        code='''
            if not use_batch:
                scale = 1.0 / np.sqrt(self.running_var.data + self.eps)
                shift = Tensor(self.running_mean.data.reshape(per_channel), dtype=x.dtype)
                y = (x - shift) * Tensor(scale.reshape(per_channel), dtype=x.dtype)
            else:
                mean = x.sum(axis=(0, 2, 3), keepdims=True) / count
                deviation = x - mean
                var = (deviation ** 2).sum(axis=(0, 2, 3), keepdims=True) / count
                y = deviation / (var + self.eps) ** 0.5
                if self.training and self.track_running_stats:
                    self.num_batches_tracked.data[...] = self.num_batches_tracked.data + 1
                    n = int(self.num_batches_tracked.data)
                    step = self.momentum if self.momentum is not None else 1.0 / n
                    batch_var = var.data.ravel() * count / (count - 1)
                    self.running_mean.data[...] = (1 - step) * self.running_mean.data + step * mean.data.ravel()
                    self.running_var.data[...] = (1 - step) * self.running_var.data + step * batch_var
        ''',
        why="sums divided by m, ** for the square and the root, the evaluation branch first, "
            "running = (1 - step) * running + step * batch"),
    Alternate(
        graded=("09-spatial-test-flatten",),
        cell="09-spatial-flatten",
        region=0,
        code='''
            dims = x.ndim
            start = self.start_dim % dims if -dims <= self.start_dim < dims else None
            end = self.end_dim % dims if -dims <= self.end_dim < dims else None
            if start is None or end is None or start > end:
                raise ValueError(f"cannot flatten dimensions {self.start_dim} to {self.end_dim} "
                                 f"of a tensor of shape {x.shape}")
            size = 1
            for d in x.shape[start:end + 1]:
                size *= d
            return x.reshape(tuple(x.shape[:start]) + (size,) + tuple(x.shape[end + 1:]))
        ''',
        why="negative dims with %, the product in a loop"),
]
