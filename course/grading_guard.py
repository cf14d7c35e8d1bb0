"""Runs inside the grading kernel: puts IPython's hooks back before each instructor cell.

A submission's cells run in the same kernel as the graded cells, so a student's cell could
install an input transformer that turns every later cell into `pass`, an AST transformer that
drops the asserts, an exception handler that hides failures, or patch the shell's run_cell.
Then the graded cells would not run what they say. Nor may a cell replace the numpy (or
builtin) functions the tests call. The grader (course/autograding.py) imports
this module before the notebook's first cell, which records the clean state, and calls
restore() before every locked or graded cell, which puts that state back. It is called through
the kernel's `user_expressions`, which IPython evaluates without its transformers.

It cannot stop code that targets this module itself (whatever runs in a process can change
that process); the instructor guide says so. The sandbox around the kernel limits what such
code can reach.
"""

import importlib
import os
import sys

# Modules whose functions the test cells call: a student's cell that replaces one (say
# numpy.testing.assert_allclose by a function that checks nothing) is undone.
_MODULES = ("builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "numpy.random")
_SHELL_METHODS = ("run_cell", "run_cell_async", "should_run_async", "transform_cell",
                  "transform_ast", "run_ast_nodes", "run_code", "showtraceback",
                  "_showtraceback", "user_expressions", "_user_obj_error", "_get_exc_info",
                  "ex", "ev")
_KERNEL_METHODS = ("do_execute", "execute_request", "run_cell")


def _methods(obj, names):
    """(class, name) -> attribute, for every class of obj that defines one of `names`."""
    return {(cls, name): cls.__dict__[name]
            for cls in type(obj).__mro__ for name in names if name in cls.__dict__}


class _State:
    """What a clean kernel had, taken before any cell of the submission ran."""

    def __init__(self, shell):
        self.shell = shell
        manager = shell.input_transformer_manager
        self.manager = manager
        self.transforms = {name: list(getattr(manager, name)) for name in
                           ("cleanup_transforms", "line_transforms", "token_transformers")}
        self.post = list(shell.input_transformers_post)
        self.ast = list(shell.ast_transformers)
        self.custom = (shell.custom_exceptions, shell.CustomTB)
        self.events = {name: list(found) for name, found in shell.events.callbacks.items()}
        self.methods = _methods(shell, _SHELL_METHODS)
        self.kernel = getattr(shell, "kernel", None)
        self.kernel_methods = _methods(self.kernel, _KERNEL_METHODS) if self.kernel else {}
        self.handler = (self.kernel.shell_handlers.get("execute_request")
                        if self.kernel is not None else None)
        self.trace = (sys.gettrace(), sys.getprofile())
        self.modules = {name: dict(vars(importlib.import_module(name))) for name in _MODULES}

    def restore(self):
        shell = self.shell
        shell.input_transformer_manager = self.manager
        for name, found in self.transforms.items():
            setattr(self.manager, name, list(found))
        shell.input_transformers_post = list(self.post)
        shell.ast_transformers = list(self.ast)
        shell.custom_exceptions, shell.CustomTB = self.custom
        for name, found in self.events.items():
            shell.events.callbacks[name][:] = found
        for obj, methods, names in ((shell, self.methods, _SHELL_METHODS),
                                    (self.kernel, self.kernel_methods, _KERNEL_METHODS)):
            if obj is None:
                continue
            for name in names:  # patched on the instance
                obj.__dict__.pop(name, None)
            for (cls, name), method in methods.items():  # patched on the class
                if cls.__dict__.get(name) is not method:
                    setattr(cls, name, method)
        if self.handler is not None:
            self.kernel.shell_handlers["execute_request"] = self.handler
        sys.settrace(self.trace[0])
        sys.setprofile(self.trace[1])
        for name, names in self.modules.items():
            module = sys.modules.get(name) or importlib.import_module(name)
            for key, value in names.items():
                if module.__dict__.get(key, _MISSING) is not value:
                    setattr(module, key, value)


_MISSING = object()


_state = None


def _forked_child():
    """A copy of the kernel made by os.fork would share its sockets and answer the grader in
    its place (a fork bomb makes hundreds): it leaves at once. Programs started with
    subprocess are not affected (they do not run Python's fork hooks)."""
    os._exit(0)


def _reap():
    """Collect the copies that left, so that they do not count against the process limit."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def snapshot(token):
    """Record the clean state (once); answer with `token` so the grader knows it ran."""
    global _state
    if _state is None:
        from IPython import get_ipython

        _state = _State(get_ipython())
        os.register_at_fork(after_in_child=_forked_child, after_in_parent=_reap)
    return f"{token}:ready"


def restore(token):
    """Put the clean state back; answer with `token` so the grader knows it ran."""
    _state.restore()
    return f"{token}:restored"
