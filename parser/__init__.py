"""descend.parser: MLIR's textual format parsed with Lark into descend IR."""

from .parser import (build_grammar, decode_source, default_context, get_parser, parse, parse_attribute,
                     parse_file, parse_type)

__all__ = ["parse", "parse_file", "parse_type", "parse_attribute", "decode_source", "default_context", "get_parser", "build_grammar"]
