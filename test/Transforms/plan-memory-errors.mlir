// RUN: mafat-opt %s --split-input-file --mafat-plan-memory --verify-diagnostics

func.func @dynamic(%n: index) {
  // expected-error @+1 {{mafat-plan-memory: cannot plan an allocation of type 'memref<?xf32>' (static shape and identity layout required)}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

func.func @escapes(%in: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %in) -> (memref<4xf32>) {
    // expected-error @+1 {{a buffer allocated inside a region escapes it}}
    %t = memref.alloc() : memref<4xf32>
    scf.yield %t : memref<4xf32>
  }
  return
}

// -----

func.func @returned() -> memref<4xf32> {
  // expected-error @+1 {{a returned buffer cannot live in the workspace}}
  %a = memref.alloc() : memref<4xf32>
  return %a : memref<4xf32>
}


// -----

// Only 1-D foralls from 0 with step 1 get per-iteration copies of their
// buffers (the form mafat-parallelize gives a slot loop).
func.func @strided_forall(%out: memref<8xf32>) {
  // expected-error @+1 {{mafat-plan-memory: the iterations of an scf.forall that allocates need their own buffers; only a 1-D loop from 0 with step 1 and a static trip count is supported}}
  scf.forall (%i) = (0) to (8) step (2) {
    %t = memref.alloc() : memref<4xf32>
    %v = memref.load %t[%i] : memref<4xf32>
    memref.store %v, %out[%i] : memref<8xf32>
  }
  return
}
