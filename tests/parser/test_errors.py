"""parser+verifier: every malformed input is a located diagnostic (file:line:col: error:
message) with the line and column where the problem is, never a traceback."""

from __future__ import annotations

import pytest

import descend

LOOSE = descend.Context(allow_unregistered=True)
STRICT = descend.Context()

# (name, text, line, column, message substring, context)
CORPUS = [
    ("unterminated_region", '"test.op"() ({\n  "test.inner"() : () -> ()\n', 2, 28,
     "unexpected end of input, expected '}'", LOOSE),
    ("unterminated_result_types", '%0 = "test.op"() : () -> (i32, i32\n', 1, 35,
     "unexpected end of input, expected ')'", LOOSE),
    ("unexpected_end_in_type", '%0 = "test.op"() : () ->', 1, 25, "unexpected end of input", LOOSE),
    ("unexpected_end_in_array", '"test.op"() {a = [1, 2', 1, 23, "expected ',' or ']'", LOOSE),
    ("unclosed_type_then_next_op", '"test.op"() : () -> tensor<4xf32\n"test.op"() : () -> ()\n', 2, 1,
     "expected ',' or '>'", LOOSE),
    ("missing_colon_before_signature", '"test.op"()\n"test.op"() : () -> ()\n', 2, 1,
     "expected '(', ':', '[' or '{'", LOOSE),
    ("signature_without_colon", '%0 = "test.op"() () -> i32\n', 1, 19, "expected '{'", LOOSE),
    ("double_type_suffix", '"test.op"() {a = 1 : i32 : i32} : () -> ()\n', 1, 26, "expected ',' or '}', found ':'", LOOSE),
    ("bad_type", '%0 = "test.op"() : () -> i32x\n', 1, 26, "unexpected identifier 'i32x'", LOOSE),
    ("unknown_type_name", '%0 = "test.op"() : () -> floaty\n', 1, 26, "'floaty'", LOOSE),
    ("undefined_value", '"test.op"(%missing) : (i32) -> ()\n', 1, 11,
     "use of undeclared SSA value name '%missing'", LOOSE),
    ("undefined_value_in_isolated_region", 'func.func @f() {\n  "test.op"(%x) : (i32) -> ()\n  return\n}\n',
     2, 13, "use of undeclared SSA value name '%x'", LOOSE),
    ("undefined_value_custom_form", 'func.func @f() {\n  %0 = arith.addi %x, %y : i32\n  return\n}\n',
     2, 19, "use of undeclared SSA value name '%x'", LOOSE),
    ("value_used_outside_its_region",
     'func.func @f(%a: i32) -> i32 {\n  %0 = "test.op"() ({\n    %1 = "test.use"(%a) : (i32) -> i32\n'
     '  }) : () -> i32\n  return %1 : i32\n}\n', 5, 10, "use of undeclared SSA value name '%1'", LOOSE),
    ("redefinition", '%0 = "test.a"() : () -> i32\n%0 = "test.b"() : () -> i32\n', 2, 1,
     "redefinition of SSA value '%0'", LOOSE),
    ("type_mismatch_between_uses", '%0 = "test.a"() : () -> i32\n"test.b"(%0) : (f32) -> ()\n', 2, 10,
     "expects different type than prior uses: 'f32' vs 'i32'", LOOSE),
    ("forward_reference_type_mismatch",
     '"test.g"() ({\n  "test.a"(%x) : (i32) -> ()\n  %x = "test.b"() : () -> f32\n}) : () -> ()\n', 2, 12,
     "use of value '%x' expects different type than prior uses", LOOSE),
    ("undefined_block", '"test.f"() ({\n  "test.br"()[^nowhere] : () -> ()\n}) : () -> ()\n', 2, 15,
     "reference to an undefined block '^nowhere'", LOOSE),
    ("block_in_another_region",
     '"test.f"() ({\n^bb0:\n  "test.r"() ({\n    "test.br"()[^bb0] : () -> ()\n  }) : () -> ()\n}) : () -> ()\n',
     4, 17, "reference to an undefined block '^bb0'", LOOSE),
    ("redefined_block", '"test.f"() ({\n^a:\n  "test.x"() : () -> ()\n^a:\n  "test.y"() : () -> ()\n}) : () -> ()\n',
     4, 1, "redefinition of block '^a'", LOOSE),
    ("too_many_result_names", '%0, %1 = "test.op"() : () -> i32\n', 1, 1,
     "operation defines 1 results but was provided 2 to bind", LOOSE),
    ("result_group_too_large", '%0:3 = "test.op"() : () -> (i32, i32)\n', 1, 1,
     "operation defines 2 results but was provided 3 to bind", LOOSE),
    ("result_number_out_of_range", '%0:2 = "test.op"() : () -> (i32, i32)\n"test.use"(%0#2) : (i32) -> ()\n',
     2, 12, "result number 2 out of range: '%0' has 2 results", LOOSE),
    ("operand_type_count", '%0 = "test.a"() : () -> i32\n"test.b"(%0, %0) : (i32) -> ()\n', 2, 1,
     "expected 2 operand types but had 1", LOOSE),
    ("missing_comma_between_operands", '%a = "test.a"() : () -> i32\n"test.b"(%a %a) : (i32, i32) -> ()\n',
     2, 13, "found '%a'", LOOSE),
    ("dense_wrong_shape", '"test.op"() {a = dense<[1, 2, 3]> : tensor<2xi32>} : () -> ()\n', 1, 24,
     "literal has shape [3] but tensor<2xi32> expects [2]", LOOSE),
    ("dense_ragged", '"test.op"() {a = dense<[[1, 2], [3]]> : tensor<2x2xi32>} : () -> ()\n', 1, 24,
     "not rectangular", LOOSE),
    ("dense_dynamic_shape", '"test.op"() {a = dense<1> : tensor<?xi32>} : () -> ()\n', 1, 24,
     "elements literal type must have static shape", LOOSE),
    ("dense_bool_dynamic_shape", '"test.op"() {a = dense<true> : tensor<?xi1>} : () -> ()\n', 1, 24,
     "elements literal type must have static shape", LOOSE),
    ("dense_memref", '"test.op"() {a = dense<[1, 2]> : memref<2xi32>} : () -> ()\n', 1, 24,
     "must be a ranked tensor or vector", LOOSE),
    ("dense_float_in_integer", '"test.op"() {a = dense<[1.5, 2.0]> : tensor<2xi32>} : () -> ()\n', 1, 24,
     "expected integer elements, found a float", LOOSE),
    ("dense_hex_wrong_size", '"test.op"() {a = dense<"0x0102"> : tensor<4xi32>} : () -> ()\n', 1, 24,
     "invalid dense literal", LOOSE),
    ("dense_element_out_of_range", '"test.op"() {b = dense<[300]> : tensor<1xi8>} : () -> ()\n', 1, 24,
     "out of bounds for int8", LOOSE),
    ("integer_out_of_range", '"test.op"() {a = 256 : i8} : () -> ()\n', 1, 18,
     "integer constant out of range for attribute of type 'i8'", LOOSE),
    ("negative_unsigned", '"test.op"() {a = -1 : ui8} : () -> ()\n', 1, 18,
     "out of range for attribute of type 'ui8'", LOOSE),
    ("hex_integer_out_of_range", '"test.op"() {a = 0x1FF : i8} : () -> ()\n', 1, 18, "out of range", LOOSE),
    ("float_literal_integer_type", '"test.op"() {a = 1.5 : i32} : () -> ()\n', 1, 18,
     "floating point value not valid for specified type 'i32'", LOOSE),
    ("integer_literal_tensor_type", '"test.op"() {a = 1 : tensor<2xi32>} : () -> ()\n', 1, 18,
     "integer literal not valid for specified type", LOOSE),
    ("unknown_escape", '"test.op"() {a = "bad \\q escape"} : () -> ()\n', 1, 18,
     "unknown escape in string literal: '\\q'", LOOSE),
    ("bad_hex_escape", '"test.op"() {a = "\\xZ"} : () -> ()\n', 1, 18, "unknown escape", LOOSE),
    ("unterminated_string", '"test.op"() {a = "never closed} : () -> ()\n', 1, 18,
     "unexpected character '\"'", LOOSE),
    ("unregistered_dialect_op", '"tst.op"() : () -> ()\n', 1, 1,
     "operation 'tst.op' of unregistered dialect 'tst'", STRICT),
    ("unregistered_op_of_known_dialect", '"arith.frobnicate"() : () -> ()\n', 1, 1,
     "unregistered operation 'arith.frobnicate' found in dialect ('arith')", STRICT),
    ("custom_op_unknown", 'func.func @f() {\n  %0 = tst.magic 1 : i32\n  return\n}\n', 2, 8,
     "custom op 'tst.magic' is unknown", LOOSE),
    ("bad_utf8", b'"test.op"() {a = "caf\xe9"} : () -> ()\n', 1, 22, "input is not valid UTF-8 (byte 0xe9)",
     LOOSE),
    ("control_character", '"test.op"() : () -> () \x01\n', 1, 24, "unexpected character '\\x01'", LOOSE),
    ("backtick", '%0 = "test.op"() : () -> i32\n`\n', 2, 1, "unexpected character '`'", LOOSE),
    ("extra_closing_brace", '"test.op"() : () -> ()\n}\n', 2, 1, "found '}'", LOOSE),
    ("use_before_def_in_ssacfg_region",
     'func.func @f() -> i32 {\n  %1 = arith.addi %0, %0 : i32\n  %0 = arith.constant 1 : i32\n  return %1 : i32\n}\n',
     2, 8, "operand #0 does not dominate this use", LOOSE),
    ("dominance_across_blocks",
     'func.func @f() -> i32 {\n  "test.br"()[^bb2] : () -> ()\n^bb1:\n  %0 = arith.constant 1 : i32\n'
     '  "test.br"()[^bb2] : () -> ()\n^bb2:\n  return %0 : i32\n}\n', 7, 3, "does not dominate this use", LOOSE),
    ("missing_terminator", 'func.func @f() -> i32 {\n  %0 = arith.constant 1 : i32\n}\n', 2, 8,
     "block with no terminator, has 'arith.constant'", LOOSE),
    ("return_type_mismatch", 'func.func @f() -> i32 {\n  %0 = arith.constant 1.0 : f32\n  return %0 : f32\n}\n',
     3, 3, "doesn't match function result type (i32)", LOOSE),
    ("operand_constraint", 'func.func @f(%a: i32, %b: f32) -> i32 {\n  %0 = arith.addi %a, %b : i32\n'
     '  return %0 : i32\n}\n', 2, 8, "operand #1 ('rhs') must be signless-integer-or-index-like", LOOSE),
    ("undefined_type_alias", '"test.op"() : () -> !undefined_alias\n', 1, 21,
     "undefined symbol alias id 'undefined_alias'", LOOSE),
    ("undefined_attribute_alias", '"test.op"() {a = #undefined} : () -> ()\n', 1, 18,
     "undefined symbol alias id 'undefined'", LOOSE),
    ("undefined_location_alias", '"test.op"() : () -> () loc(#nowhere)\n', 1, 1,
     "undefined location alias '#nowhere'", LOOSE),
    ("redefined_type_alias", '!a = i32\n!a = f32\n', 2, 1, "redefinition of type alias '!a'", LOOSE),
    ("affine_undeclared_identifier", '"test.op"() {m = affine_map<(d0) -> (d1)>} : () -> ()\n', 1, 38,
     "use of undeclared identifier 'd1' in affine expression", LOOSE),
    ("scalable_tensor_dim", '"test.op"() : () -> tensor<[4]xf32>\n', 1, 28,
     "scalable dimensions are only allowed in vector types", LOOSE),
    ("dynamic_vector_dim", '"test.op"() : () -> vector<?xf32>\n', 1, 13,
     "vector types must have static dimensions", LOOSE),
    ("zero_rank_vector", '"test.op"() : () -> vector<f32>\n', 1, 13,
     "vector types must have at least one dimension", LOOSE),
    ("dynamic_vector_in_attribute", '"test.op"() {t = (vector<?xf32>) -> ()} : () -> ()\n', 1, 18,
     "vector types must have static dimensions", LOOSE),
    ("tensor_of_none", '"test.op"() : () -> tensor<4xnone>\n', 1, 28, "invalid tensor element type 'none'", LOOSE),
    ("dense_array_element_type", '"test.op"() {a = array<index: 1>} : () -> ()\n', 1, 18,
     "invalid element type 'index' for array<>", LOOSE),
    ("dense_array_float_in_integer", '"test.op"() {a = array<i32: 1.5>} : () -> ()\n', 1, 29,
     "expected integer elements for array<i32>", LOOSE),
    ("distinct_redefined_differently", '"test.op"() {a = distinct[0]<1>, b = distinct[0]<2>} : () -> ()\n', 1, 47,
     "referenced attribute does not match previous definition", LOOSE),
    ("named_arguments_without_region", '"test.op"() : () -> ()\nfunc.func @f(%a: i32)\n', 2, 14,
     "named arguments given but no region follows to define them", LOOSE),
    ("resource_not_hex",
     '"test.op"() {a = dense_resource<r> : tensor<1xi8>} : () -> ()\n{-#\n  dialect_resources: {\n'
     '    builtin: {\n      r: "nothex"\n    }\n  }\n#-}\n', 5, 10, "expected a hex string for resource 'r'", LOOSE),
]


@pytest.mark.parametrize("name,text,line,column,message,context", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_input_is_a_located_error(name, text, line, column, message, context):
    with pytest.raises(descend.DiagnosticError) as caught:
        descend.parse(text, filename="bad.mlir", context=context)
    diagnostic = caught.value.diagnostics[0]
    position = diagnostic.location.file_line_col()
    assert position is not None, f"no position for: {diagnostic.message}"
    assert (position.line, position.column) == (line, column), diagnostic.message
    assert message in diagnostic.message
    rendered = str(caught.value)
    assert rendered.startswith(f"bad.mlir:{line}:{column}: error: "), rendered


def test_corpus_is_large_and_names_are_unique():
    names = [case[0] for case in CORPUS]
    assert len(names) >= 40 and len(set(names)) == len(names)


def test_error_in_split_chunk_keeps_whole_file_line_numbers():
    with pytest.raises(descend.DiagnosticError) as caught:
        descend.parse('"test.op"(%x) : (i32) -> ()\n', filename="big.mlir", context=LOOSE, line_offset=40)
    position = caught.value.diagnostics[0].location.file_line_col()
    assert (position.line, position.column) == (41, 11)


def test_prior_use_note_points_at_the_definition():
    text = '"test.g"() ({\n  "test.a"(%x) : (i32) -> ()\n  %x = "test.b"() : () -> f32\n}) : () -> ()\n'
    with pytest.raises(descend.DiagnosticError) as caught:
        descend.parse(text, filename="bad.mlir", context=LOOSE)
    notes = caught.value.diagnostics[0].notes
    assert notes and notes[0].location.file_line_col().line == 3


def test_non_blob_builtin_resource_is_a_located_error():
    text = '"t.op"() : () -> ()\n{-#\n  dialect_resources: {\n    builtin: {\n      b: true\n    }\n  }\n#-}\n'
    with pytest.raises(descend.DiagnosticError) as info:
        descend.parse(text, "res.mlir", context=descend.Context(allow_unregistered=True))
    assert str(info.value).startswith("res.mlir:5:10: error: expected a hex string for resource 'b'")
