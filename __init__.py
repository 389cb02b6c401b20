"""descend: an ML compiler built the MLIR way (see DESIGN.md in the team's shared notes)."""

# Absolute imports on purpose: pytest (importlib mode) may import this file a second time
# under the checkout folder's name; this way that copy re-exports the one real descend.
from descend.ir import Context, DiagnosticError, Operation, verify
from descend.ir.printer import print_ir

__version__ = "0.1.0"


def parse(text: str, filename: str = "<input>", context: Context | None = None, **options):
    """Parse IR text into a verified builtin.module (see descend.parser.parse)."""
    from descend.parser import parse as _parse
    return _parse(text, filename=filename, context=context, **options)


def parse_file(path, context: Context | None = None, **options):
    from descend.parser import parse_file as _parse_file
    return _parse_file(path, context=context, **options)


def interpret(module, function: str, inputs, context: Context | None = None):
    """Run `function` of `module` on numpy inputs with every op's reference semantics."""
    from descend.ir.interpreter import interpret as _interpret
    return _interpret(module, function, inputs)


# Loaded on first use, so `import descend` stays light: name -> module that defines it.
_LAZY = {"PassManager": "descend.rewrites", "compile": "descend.lowering.driver",
         "CompiledModel": "descend.lowering.driver", "import_onnx": "descend.frontends.onnx"}


_SUBMODULES = {"runtime", "backend", "interpreter_backend", "testing", "lowering", "frontends"}


def __getattr__(name: str):
    if name in _SUBMODULES:  # `descend.runtime.load(...)` without importing descend.runtime first
        import importlib
        return importlib.import_module(f"descend.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'descend' has no attribute '{name}'")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
