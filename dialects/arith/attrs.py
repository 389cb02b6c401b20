"""arith: the dialect attributes (#arith.fastmath, #arith.overflow), the custom directives
that print them as `fastmath<...>` / `overflow<...>` in custom form, and the cmpi/cmpf
predicate enums, all with MLIR's spellings and numbering."""

from __future__ import annotations

from ...ir import CustomDirective, EnumSyntax, IntegerAttr, ParametrizedAttr, i64


class _BitEnumAttr(ParametrizedAttr):
    """A set of flags stored as an int; prints `#arith.<mnemonic><flag,flag>` like MLIR's
    BitEnumAttr (named groups such as `fast` first, then single flags in bit order)."""

    _fields = ("flags",)
    _instances: dict = {}
    BITS: dict = {}       # keyword -> bit value, in MLIR's declaration order
    GROUPS: dict = {}     # keyword -> several bits (`fast`)
    SEPARATOR = ","
    # The flags whose meaning the interpreter models (as poison, see undefined.py).
    MODELED: tuple = ()

    @classmethod
    def _normalize(cls, flags=0) -> tuple:
        if isinstance(flags, str):
            flags = cls.parse_keywords(flags)
        return (int(flags),)

    @classmethod
    def parse_keywords(cls, text: str) -> int:
        value = 0
        for word in (w.strip() for w in str(text).split(",")):
            if word in ("", "none"):
                continue
            if word in cls.GROUPS:
                value |= cls.GROUPS[word]
            elif word in cls.BITS:
                value |= cls.BITS[word]
            else:
                raise ValueError(f"unknown #{cls.name} flag '{word}'; expected one of "
                                 f"{', '.join(['none', *cls.GROUPS, *cls.BITS])}")
        return value

    @classmethod
    def from_parameters(cls, params: list) -> "_BitEnumAttr":
        """Parsed parameters may come as keywords (str/tokens) or as one raw body string."""
        return cls(",".join(str(p) for p in params))

    @classmethod
    def parse_body(cls, body: str | None) -> "_BitEnumAttr":
        """Build from the text between `<` and `>` (the parser's hook for dialect attributes)."""
        return cls(body or "")

    def keywords(self) -> str:
        value = self.flags
        if value == 0:
            return "none"
        words = []
        for word, bits in self.GROUPS.items():
            if value & bits == bits:
                words.append(word)
                value &= ~bits
        words += [word for word, bit in self.BITS.items() if value & bit]
        return self.SEPARATOR.join(words)

    @classmethod
    def sample_attribute(cls, s) -> "_BitEnumAttr":
        """descend.testing's hook: a random set of flags, each one in eight times. Only the
        MODELED flags unless `s.all_flags`: the others license results of a different value
        (reassociation, approximate functions), which a bit-exact comparison would flag."""
        words = list(cls.BITS) if s.all_flags else list(cls.MODELED)
        return cls(",".join(w for w in words if s.boolean(0.125)))

    def has(self, word: str) -> bool:
        bits = self.GROUPS.get(word, self.BITS.get(word))
        return bits is not None and self.flags & bits == bits

    def _print(self) -> str:
        return f"#{self.name}<{self.keywords()}>"


class FastMathFlagsAttr(_BitEnumAttr):
    """LLVM's fast-math flags; they license rewrites, the reference semantics ignore them."""

    name = "arith.fastmath"
    _instances: dict = {}
    BITS = {"reassoc": 1, "nnan": 2, "ninf": 4, "nsz": 8, "arcp": 16, "contract": 32, "afn": 64}
    GROUPS = {"fast": 127}
    SEPARATOR = ","
    MODELED = ("nnan", "ninf")


class IntegerOverflowFlagsAttr(_BitEnumAttr):
    """No-signed/unsigned-wrap promises; the reference semantics wrap regardless."""

    name = "arith.overflow"
    _instances: dict = {}
    BITS = {"nsw": 1, "nuw": 2}
    GROUPS: dict = {}
    SEPARATOR = ", "
    MODELED = ("nsw", "nuw")


FASTMATH_NONE = FastMathFlagsAttr(0)
OVERFLOW_NONE = IntegerOverflowFlagsAttr(0)


class FlagsDirective(CustomDirective):
    """`custom<FastMath>($fastmath)`: MLIR's `(`fastmath` `` $fastmath^)?`, i.e. nothing when
    the flags are `none`, else `fastmath<nnan,contract>`. One instance is made per op class (see FlagsDirectives)."""

    def __init__(self, keyword: str, attr_class: type, rule_prefix: str):
        self.keyword = keyword
        self.attr_class = attr_class
        flag = f"{rule_prefix}_flag"
        words = ["none", *attr_class.GROUPS, *attr_class.BITS]
        self.grammar = f'("{keyword}" "<" {rule_prefix}_flags ">")?'
        self.extra_rules = {
            f"{rule_prefix}_flags": f'{flag} ("," {flag})*',
            f"!{flag}": " | ".join(f'"{w}"' for w in words),
        }

    def print(self, fp, op, args) -> None:
        attr = args[0].field.__get__(op)
        if attr is not None and attr.flags != 0:
            fp.emit(f"{self.keyword}<{attr.keywords()}>")

    def build(self, state, children, args) -> None:
        words = [str(w) for w in _flatten(children)]
        if words:
            state.properties[args[0].name] = self.attr_class(",".join(words))

    def present(self, op, args) -> bool:
        attr = args[0].field.__get__(op)
        return attr is not None and attr.flags != 0


def _flatten(item) -> list:
    if isinstance(item, (list, tuple)):
        return [x for child in item for x in _flatten(child)]
    return [] if item is None else [item]


class FlagsDirectives:
    """A class attribute giving each op class its own FlagsDirective under `key`, so helper
    rule names stay unique per op (the parser emits a directive's rules once per op)."""

    def __init__(self, key: str, keyword: str, attr_class: type):
        self.key, self.keyword, self.attr_class = key, keyword, attr_class
        self.cache: dict = {}

    def __get__(self, op, owner) -> dict:
        directives = self.cache.get(owner)
        if directives is None:
            prefix = f"{owner.name.replace('.', '_')}_{self.keyword}"
            directives = self.cache[owner] = {
                self.key: FlagsDirective(self.keyword, self.attr_class, prefix)}
        return directives


FASTMATH = FlagsDirectives("FastMath", "fastmath", FastMathFlagsAttr)
OVERFLOW = FlagsDirectives("Overflow", "overflow", IntegerOverflowFlagsAttr)


def _enum(keywords: tuple) -> EnumSyntax:
    """A predicate stored as MLIR stores it: an i64 IntegerAttr holding the enum's number."""
    return EnumSyntax(keywords, lambda attr: keywords[attr.value],
                      lambda text: IntegerAttr(keywords.index(str(text)), i64))


CMPI_PREDICATES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
CMPF_PREDICATES = ("false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
                   "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true")
CMPI_SYNTAX = _enum(CMPI_PREDICATES)
CMPF_SYNTAX = _enum(CMPF_PREDICATES)


def predicate_attr(keyword: str, predicates: tuple = CMPI_PREDICATES) -> IntegerAttr:
    return IntegerAttr(predicates.index(keyword), i64)
