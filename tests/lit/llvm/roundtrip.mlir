// The llvm dialect prints and parses back in custom and generic form.
// RUN: %roundtrip-stable
// RUN: %roundtrip
// RUN: %descend opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK-LABEL: llvm.mlir.global internal constant @weights(dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>) {alignment = 64 : i64} : !llvm.array<2 x f32>
// GENERIC: "llvm.mlir.global"() <{alignment = 64 : i64, constant, global_type = !llvm.array<2 x f32>, linkage = #llvm.linkage<internal>, sym_name = "weights"
llvm.mlir.global internal constant @weights(dense<[1.0, 2.0]> : tensor<2xf32>) {alignment = 64 : i64} : !llvm.array<2 x f32>

// CHECK: llvm.func @expf(f32) -> f32
// GENERIC: "llvm.func"() <{function_type = !llvm.func<f32 (f32)>, sym_name = "expf"}> ({
llvm.func @expf(f32) -> f32

// CHECK-LABEL: llvm.func internal @axpy(%x: !llvm.ptr, %y: !llvm.ptr, %n: i64, %a: f32)
llvm.func internal @axpy(%x: !llvm.ptr, %y: !llvm.ptr, %n: i64, %a: f32) {
  %zero = llvm.mlir.constant(0 : i64) : i64
  // CHECK: llvm.br ^bb1(%zero : i64)
  llvm.br ^bb1(%zero : i64)
// CHECK: ^bb1(%i: i64):
^bb1(%i: i64):
  // CHECK: llvm.icmp "slt" %i, %n : i64
  %more = llvm.icmp "slt" %i, %n : i64
  // CHECK: llvm.cond_br %more, ^bb2, ^bb3
  // GENERIC: "llvm.cond_br"(%more)[^bb2, ^bb3] <{operandSegmentSizes = array<i32: 1, 0, 0>}> : (i1) -> ()
  llvm.cond_br %more, ^bb2, ^bb3
^bb2:
  // CHECK: llvm.getelementptr inbounds %x[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  // GENERIC: <{elem_type = f32, noWrapFlags = 3 : i32, rawConstantIndices = array<i32: -2147483648>}>
  %px = llvm.getelementptr inbounds %x[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  %py = llvm.getelementptr inbounds %y[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  // CHECK: llvm.load %px {alignment = 4 : i64} : !llvm.ptr -> f32
  %vx = llvm.load %px {alignment = 4 : i64} : !llvm.ptr -> f32
  %vy = llvm.load %py : !llvm.ptr -> f32
  // CHECK: llvm.intr.fma(%a, %vx, %vy) {fastmathFlags = #llvm.fastmath<contract>} : (f32, f32, f32) -> f32
  %r = llvm.intr.fma(%a, %vx, %vy) {fastmathFlags = #llvm.fastmath<contract>} : (f32, f32, f32) -> f32
  %e = llvm.call @expf(%r) : (f32) -> f32
  // CHECK: llvm.store %e, %py : f32, !llvm.ptr
  llvm.store %e, %py : f32, !llvm.ptr
  %one = llvm.mlir.constant(1 : i64) : i64
  // CHECK: llvm.add %i, %one overflow<nsw> : i64
  %next = llvm.add %i, %one overflow<nsw> : i64
  llvm.br ^bb1(%next : i64)
^bb3:
  // CHECK: llvm.return
  llvm.return
}
