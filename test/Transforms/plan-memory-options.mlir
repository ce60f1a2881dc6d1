// RUN: not mafat-opt %s --mafat-plan-memory=alignment=48 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: mafat-opt %s --mafat-plan-memory="alignment=4096 report=true" 2>&1 | FileCheck %s --check-prefix=REPORT

// BAD: error: mafat-plan-memory: alignment must be a power of two, got 48

// The report lists each buffer's live range (first to last use), offset and
// size; with 4 KiB alignment two 4-byte buffers live together need 8 KiB.
// REPORT: mafat-plan-memory: @two: 2 buffers, workspace 8192 bytes, naive 8192 bytes
// REPORT-DAG: [   2,    2] offset          0 size          4
// REPORT-DAG: [   2,    2] offset       4096 size          4
// REPORT-LABEL: func.func @two
// REPORT-SAME: memref<8192xi8> {mafat.workspace}
func.func @two(%in: memref<1xf32>, %out: memref<1xf32>) {
  %a = memref.alloc() : memref<1xf32>
  %b = memref.alloc() : memref<1xf32>
  linalg.copy ins(%a : memref<1xf32>) outs(%b : memref<1xf32>)
  return
}
