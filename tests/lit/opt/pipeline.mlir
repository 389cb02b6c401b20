// Pipelines: MLIR's anchored syntax, xDSL's bare list, and clear errors for unknown names.
// RUN: %descend opt %s -p verify | filecheck %s
// RUN: %descend opt %s -p 'builtin.module(verify)' | filecheck %s
// RUN: %descend opt %s -p 'builtin.module(func.func(cse),symbol-dce)' --print-pipeline 2>&1 >/dev/null | filecheck %s --check-prefix=PIPELINE
// RUN: not %descend opt %s -p 'builtin.module(canonicalise)' 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: not %descend opt %s -p 'builtin.module(cse' 2>&1 | filecheck %s --check-prefix=MALFORMED

// CHECK: func.func @f()
func.func @f() {
  return
}

// PIPELINE: builtin.module(func.func(cse),symbol-dce)

// UNKNOWN:      descend opt: error: unknown pass 'canonicalise' (at column 16)
// UNKNOWN-NEXT:   builtin.module(canonicalise)
// UNKNOWN-NEXT:                  ^
// UNKNOWN-NEXT:   did you mean 'canonicalize'?
// UNKNOWN-NEXT:   registered passes: {{.*}}cse{{.*}}

// MALFORMED:      descend opt: error: malformed pass pipeline: expected {{.*}}')'{{.*}}, found the end of the pipeline (at column 19)
// MALFORMED-NEXT:   builtin.module(cse
// MALFORMED-NEXT:                     ^
