// The llvm dialect's translation to LLVM IR (mlir-translate --mlir-to-llvmir's job).
// RUN: python -m descend.lowering.codegen %s --emit llvm-ir | filecheck %s
// RUN: python -m descend.lowering.codegen %s --emit opt-ir -O 2 | filecheck %s --check-prefix=OPT
// RUN: python -m descend.lowering.codegen %s --emit asm --target "llvm -mtriple=aarch64-unknown-linux-gnu" | filecheck %s --check-prefix=ARM

// CHECK: @table = internal constant [3 x i32] [i32 1, i32 2, i32 3], align 4
llvm.mlir.global internal constant @table(dense<[1, 2, 3]> : tensor<3xi32>) {alignment = 4 : i64} : !llvm.array<3 x i32>

// CHECK-LABEL: define i32 @lookup(i64 %arg0)
// OPT-LABEL: define {{.*}}i32 @lookup(i64
// ARM-LABEL: lookup:
llvm.func @lookup(%i: i64) -> i32 {
  %t = llvm.mlir.addressof @table : !llvm.ptr
  // CHECK: getelementptr inbounds [3 x i32], ptr @table, i32 0, i64 %arg0
  %p = llvm.getelementptr inbounds %t[0, %i] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.array<3 x i32>
  %v = llvm.load %p : !llvm.ptr -> i32
  %c = llvm.mlir.constant(10 : i32) : i32
  %big = llvm.icmp "sgt" %v, %c : i32
  // CHECK: br i1 %{{.+}}, label %bb1, label %bb2
  llvm.cond_br %big, ^bb1(%c : i32), ^bb2(%v : i32)
^bb1(%x: i32):
  llvm.br ^bb2(%x : i32)
// CHECK: bb2:
// CHECK-NEXT: phi i32 [ %{{.+}}, %bb0 ], [ %{{.+}}, %bb1 ]
^bb2(%r: i32):
  llvm.return %r : i32
}

// CHECK-LABEL: define float @scale(<4 x float> %arg0)
llvm.func @scale(%v: vector<4xf32>) -> f32 {
  %two = llvm.mlir.constant(dense<2.0> : vector<4xf32>) : vector<4xf32>
  // CHECK: fmul fast <4 x float> %arg0, <float 0x4000000000000000, float 0x4000000000000000, float 0x4000000000000000, float 0x4000000000000000>
  %m = llvm.fmul %v, %two {fastmathFlags = #llvm.fastmath<fast>} : vector<4xf32>
  %z = llvm.mlir.constant(0.0 : f32) : f32
  // CHECK: call reassoc float @llvm.vector.reduce.fadd.v4f32(float 0x0000000000000000, <4 x float> %{{.+}})
  %s = llvm.intr.vector.reduce.fadd(%z, %m) {fastmathFlags = #llvm.fastmath<reassoc>} : (f32, vector<4xf32>) -> f32
  llvm.return %s : f32
}
// CHECK: declare float @llvm.vector.reduce.fadd.v4f32(float, <4 x float>)
