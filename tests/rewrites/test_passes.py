"""The pass base: declarations, typed options and their text, errors, printing, the
registry and function passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from descend.rewrites import (ModulePass, Pass, PipelineError, function_pass, lookup_pass, option,
                              register_pass, registered_passes)
from descend.rewrites.passes import _REGISTRY, describe_pass


@dataclass(frozen=True)
class Tune(Pass):
    """Exercise every option kind.

    The second paragraph is not part of the summary."""

    name: ClassVar[str] = "tune"
    level: int = option(2, help="how hard to try")
    ratio: float = 0.5
    fast: bool = False
    label: str = "plain"
    names: tuple[str, ...] = ()
    sizes: list[int] = option(default_factory=lambda: [1, 2])
    limit: int | None = None

    def run(self, op, ctx):
        pass


@pytest.fixture
def registry():
    saved = dict(registered_passes())  # built-ins loaded first, so restoring keeps them
    yield
    _REGISTRY.clear()
    _REGISTRY.update(saved)


def test_declaration_gives_name_summary_and_typed_options():
    assert Tune.summary() == "Exercise every option kind."
    assert [(o.name, o.type_text, o.default) for o in Tune.options()] == [
        ("level", "int", 2), ("ratio", "float", 0.5), ("fast", "bool", False),
        ("label", "string", "plain"), ("names", "list<string>", ()),
        ("sizes", "list<int>", [1, 2]), ("limit", "int", None)]
    assert Tune.options()[0].help == "how hard to try"


@pytest.mark.parametrize("text, expected", [
    ("", Tune()),
    ("{level=5}", Tune(level=5)),
    ("level=-3 ratio=1e-3", Tune(level=-3, ratio=0.001)),
    ("level=0x10", Tune(level=16)),
    ("fast", Tune(fast=True)),
    ("fast=false fast=1", Tune(fast=True)),
    ('label="two words"', Tune(label="two words")),
    ("label='a \"quoted\" word'", Tune(label='a "quoted" word')),
    ("label={braced {nested} text}", Tune(label="braced {nested} text")),
    ("names=a,b,c", Tune(names=("a", "b", "c"))),
    ('names=a,"b,c" sizes={4,5}', Tune(names=("a", "b,c"), sizes=[4, 5])),
    ("names=", Tune(names=())),
    ("limit=3", Tune(limit=3)),
    ("  level=7   limit=3  ", Tune(level=7, limit=3)),
])
def test_option_text(text, expected):
    assert Tune.from_options(text) == expected


@pytest.mark.parametrize("text, message", [
    ("levl=1", "pass 'tune' has no option 'levl'"),
    ("level=one", "option 'level' of pass 'tune' expects an integer, got 'one'"),
    ("ratio=fast", "option 'ratio' of pass 'tune' expects a number, got 'fast'"),
    ("fast=maybe", "option 'fast' of pass 'tune' expects true or false, got 'maybe'"),
    ("sizes=1,x", "option 'sizes' of pass 'tune' expects an integer, got 'x'"),
    ("level", "option 'level' of pass 'tune' needs a value (level=<int>)"),
    ('label="open', "unterminated \" quote"),
    ("label={open", "unbalanced braces"),
])
def test_option_errors_name_the_pass_and_the_option(text, message):
    with pytest.raises(PipelineError) as caught:
        Tune.from_options(text)
    assert message in caught.value.message


def test_unknown_option_lists_close_matches_and_the_valid_ones():
    with pytest.raises(PipelineError) as caught:
        Tune.from_options("ratoi=1")
    assert caught.value.notes[0] == "did you mean 'ratio'?"
    assert caught.value.notes[1].startswith("options of 'tune': level=<int>, ratio=<float>, fast=<bool>")


def test_a_pass_without_options_says_so():
    with pytest.raises(PipelineError, match="pass 'cse' takes no options, got 'x'"):
        lookup_pass("cse").from_options("x=1")


def test_instances_print_as_pipeline_text_with_only_changed_options():
    assert str(Tune()) == "tune"
    text = str(Tune(level=5, label="two words", names=("a", "b,c"), fast=True, limit=4))
    assert text == "tune{level=5 fast=true label=\"two words\" names=a,\"b,c\" limit=4}"
    assert Tune.from_options(text[len("tune"):]) == Tune(level=5, label="two words",
                                                         names=("a", "b,c"), fast=True, limit=4)
    assert Tune().pipeline_text(include_defaults=True).startswith("tune{level=2 ratio=0.5 fast=false")


def test_display_name_is_class_then_argument():
    assert Tune().display_name == "Tune (tune)"


def test_statistics_count_per_instance():
    @dataclass(frozen=True)
    class Counting(Pass):
        name: ClassVar[str] = "counting"
        statistics: ClassVar[dict] = {"seen": "ops seen", "never": "never counted"}

    first, second = Counting(), Counting()
    first.count("seen", 3)
    first.count("seen")
    first.count("extra", 2)
    assert first.statistic_values() == {"seen": 4, "never": 0, "extra": 2}
    assert second.statistic_values() == {"seen": 0, "never": 0}


def test_register_and_look_up(registry):
    register_pass(Tune)
    assert lookup_pass("tune") is Tune
    assert "tune" in registered_passes() and list(registered_passes()) == sorted(registered_passes())
    assert register_pass(Tune) is Tune  # again: fine

    @dataclass(frozen=True)
    class Other(Pass):
        name: ClassVar[str] = "tune"

    with pytest.raises(ValueError, match="pass name 'tune' is already registered by"):
        register_pass(Other)
    register_pass(Other, replace=True)
    assert lookup_pass("tune") is Other


def test_malformed_pass_classes_are_refused_with_the_fix():
    class NotADataclass(Pass):
        name: ClassVar[str] = "not-a-dataclass"
        factor: int = 2

    with pytest.raises(TypeError, match=r"decorate it with @dataclass\(frozen=True\)"):
        register_pass(NotADataclass)

    @dataclass(frozen=True)
    class Nameless(Pass):
        pass

    with pytest.raises(TypeError, match="needs a kebab-case `name`"):
        register_pass(Nameless)

    @dataclass(frozen=True)
    class BadOption(Pass):
        name: ClassVar[str] = "bad-option"
        table: dict = None

    with pytest.raises(TypeError, match="option 'table' of pass 'bad-option' has unsupported type"):
        register_pass(BadOption)

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass"):
        @dataclass
        class Thawed(Pass):
            name: ClassVar[str] = "thawed"


def test_module_pass_is_anchored_on_the_module():
    assert ModulePass.anchor == "builtin.module"


def test_function_pass_options_come_from_keyword_only_parameters(registry):
    calls = []

    @function_pass("scale-things", dependent_dialects=("arith",))
    def scale_things(op, ctx, *, factor: int = 2, names: tuple[str, ...] = ("x",)):
        """Scale the things."""
        calls.append((op, factor, names))

    assert lookup_pass("scale-things") is scale_things
    assert scale_things.__name__ == "ScaleThings" and scale_things.summary() == "Scale the things."
    assert scale_things.dependent_dialects == ("arith",)
    instance = scale_things.from_options("factor=5 names=a,b")
    assert str(instance) == "scale-things{factor=5 names=a,b}"
    instance.run("the op", None)
    assert calls == [("the op", 5, ("a", "b"))]


def test_function_pass_signature_errors(registry):
    with pytest.raises(TypeError, match="must take \\(op, ctx\\) positionally"):
        @function_pass("one-argument")
        def one_argument(op):
            pass

    with pytest.raises(TypeError, match="option 'factor' of function pass 'no-default' needs a default"):
        @function_pass("no-default")
        def no_default(op, ctx, *, factor: int):
            pass


def test_list_passes_lines_come_from_the_declaration():
    lines = describe_pass(Tune)
    assert lines[0].split() == ["tune", "Exercise", "every", "option", "kind."]
    assert lines[1].split() == ["--level=<int>", "default", "2;", "how", "hard", "to", "try"]
    assert "--names=<list<string>>" in lines[5] and "default empty" in lines[5]
    assert lines[4].split()[:3] == ["--label=<string>", "default", "plain"]
    assert lines[7].split()[:3] == ["--limit=<int>", "default", "unset"]
    assert any("runs on 'builtin.module' ops" in line for line in describe_pass(lookup_pass("symbol-dce")))
