// RUN: mafat-opt %s --mafat-print-layer-graph=format=json -o /dev/null | FileCheck %s
// RUN: not mafat-opt %s --mafat-print-layer-graph=format=yaml -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// format=json writes the layer graph as one JSON object per function (keys
// sorted) for tools that read it instead of the text (mafat-calibrate): the
// same figures as the text, operands by producer id, and each node's
// epilogue_of as CodegenRules.h decides.

// Totals, then the nodes by id, keys sorted.
// CHECK:      "flops": 38400,
// CHECK-NEXT: "function": "net",
// CHECK-NEXT: "inputs": [
// CHECK-NEXT:   0
// CHECK-NEXT: ],
// CHECK-NEXT: "macs": 18432,
// CHECK-NEXT: "nodes": [
// CHECK:        "epilogue_of": null,
// CHECK-NEXT:   "flops": 0,
// CHECK-NEXT:   "id": 0,
// CHECK-NEXT:   "kind": "input",
// CHECK-NEXT:   "macs": 0,
// CHECK-NEXT:   "name": "image",
// CHECK-NEXT:   "operands": [],
// CHECK-NEXT:   "output_bytes": 1024,

// The conv reads the unpadded input through its window; the pad is folded.
// CHECK:        "epilogue_of": null,
// CHECK-NEXT:   "flops": 36864,
// CHECK-NEXT:   "id": 1,
// CHECK-NEXT:   "kind": "conv",
// CHECK-NEXT:   "macs": 18432,
// CHECK-NEXT:   "name": "L0:conv",
// CHECK-NEXT:   "operands": [
// CHECK-NEXT:     {
// CHECK-NEXT:       "access": "window",
// CHECK-NEXT:       "identity_input": false,
// CHECK-NEXT:       "init": false,
// CHECK-NEXT:       "producer": 0,
// CHECK-NEXT:       "shape": [
// CHECK-NEXT:         1,
// CHECK-NEXT:         8,
// CHECK-NEXT:         8,
// CHECK-NEXT:         4
// CHECK-NEXT:       ]
// CHECK-NEXT:     }
// CHECK-NEXT:   ],
// CHECK-NEXT:   "output_bytes": 2048,
// CHECK:        "weight_bytes": 1152,
// CHECK-NEXT:   "window": {
// CHECK-NEXT:     "dilation": [
// CHECK-NEXT:       1,
// CHECK-NEXT:       1
// CHECK-NEXT:     ],
// CHECK-NEXT:     "kernel": [
// CHECK-NEXT:       3,
// CHECK-NEXT:       3
// CHECK-NEXT:     ],
// CHECK-NEXT:     "pad": {
// CHECK-NEXT:       "bottom": 1,
// CHECK-NEXT:       "left": 1,
// CHECK-NEXT:       "right": 1,
// CHECK-NEXT:       "top": 1
// CHECK-NEXT:     },
// CHECK-NEXT:     "stride": [
// CHECK-NEXT:       1,
// CHECK-NEXT:       1
// CHECK-NEXT:     ]

// Bias + relu is the conv's epilogue; its operand is read through the
// identity map.
// CHECK:        "epilogue_of": 1,
// CHECK-NEXT:   "flops": 1024,
// CHECK-NEXT:   "id": 2,
// CHECK-NEXT:   "kind": "eltwise",
// CHECK:            "access": "pointwise",
// CHECK-NEXT:       "identity_input": true,
// CHECK:        "users": [
// CHECK-NEXT:     3
// CHECK-NEXT:   ],
// CHECK-NEXT:   "weight_bytes": 32

// CHECK:        "id": 3,
// CHECK-NEXT:   "kind": "maxpool",
// CHECK:        "window": {
// CHECK:          "kernel": [
// CHECK-NEXT:       2,
// CHECK-NEXT:       2
// CHECK:          "stride": [
// CHECK-NEXT:       2,
// CHECK-NEXT:       2

// A strided slice reads its operand whole.
// CHECK:        "id": 4,
// CHECK-NEXT:   "kind": "slice",
// CHECK:            "access": "whole",
// CHECK:        "slice_offsets": [
// CHECK-NEXT:     0,

// CHECK:        "concat_dim": 3,
// CHECK-NEXT:   "epilogue_of": null,
// CHECK:        "id": 5,
// CHECK-NEXT:   "kind": "concat",
// CHECK:              "producer": 3,
// CHECK:              "producer": 4,
// CHECK:        "users": [],
// CHECK:      "order": [
// CHECK-NEXT:   0,
// CHECK-NEXT:   1,
// CHECK-NEXT:   2,
// CHECK-NEXT:   3,
// CHECK-NEXT:   4,
// CHECK-NEXT:   5
// CHECK-NEXT: ],
// CHECK-NEXT: "outputs": [
// CHECK-NEXT:   {
// CHECK-NEXT:     "name": "features",
// CHECK-NEXT:     "node": 5
// CHECK-NEXT:   }
// CHECK-NEXT: ],
// CHECK-NEXT: "weight_bytes": 1184
// CHECK-NEXT: }

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
func.func @net(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x12xf32>
    attributes {mafat.input_names = ["image"], mafat.output_names = ["features"]} {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.125> : tensor<3x3x4x8xf32>
  %b = arith.constant dense<0.25> : tensor<8xf32>
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32>
  %e0 = tensor.empty() : tensor<1x8x8x8xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %c0 = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%p, %w : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%f0 : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
  %r0i = tensor.empty() : tensor<1x8x8x8xf32>
  %r0 = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
    ins(%c0, %b : tensor<1x8x8x8xf32>, tensor<8xf32>) outs(%r0i : tensor<1x8x8x8xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %s = arith.addf %in, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x8xf32> loc("L0:relu")
  %win = tensor.empty() : tensor<2x2xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<1x4x4x8xf32>
  %f1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  %m = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
    ins(%r0, %win : tensor<1x8x8x8xf32>, tensor<2x2xf32>) outs(%f1 : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:maxpool")
  %xs = tensor.extract_slice %x[0, 0, 0, 0] [1, 4, 4, 4] [1, 2, 2, 1] : tensor<1x8x8x4xf32> to tensor<1x4x4x4xf32> loc("L2:slice")
  %cat = tensor.concat dim(3) %m, %xs : (tensor<1x4x4x8xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x12xf32> loc("L3:route")
  return %cat : tensor<1x4x4x12xf32>
}

// BAD: error: mafat-print-layer-graph: format must be 'text' or 'json', got 'yaml'
