// RUN: mafat-opt %s --mafat-print-layer-graph --split-input-file | FileCheck %s

// The layer graph of canonical models: one node per layer with the fill,
// constants and a feeding tensor.pad folded in. FLOPs and weight bytes in
// the CHECK lines are worked out by hand in the comments (f32 = 4 bytes).

// conv 3x3 "same" + bias/leaky + 2x2/2 max pool padded at the bottom/right
// (Darknet-style), with the input name from mafat.input_names.
//   conv:    8*8 outputs * 8 filters * (3*3*4) MACs = 18432 MACs = 36864 FLOPs
//            filter 3*3*4*8*4 B = 1152 B
//   leaky:   8*8*8 = 512 elements * 4 ops (addf, cmpf, mulf, select) = 2048
//            bias 8*4 B = 32 B
//   maxpool: padded 9x9 -> (9-2)/2+1 = 4; 4*4*8 outputs * 2*2 = 512
//   total:   36864 + 2048 + 512 = 39424 FLOPs, 1184 B

// CHECK-LABEL: layer-graph @chain: 4 nodes, 39424 flops, 1184 weight bytes
// CHECK-NEXT:  #0 "image" input out=1x8x8x4
// CHECK-NEXT:  #1 "L0:conv" conv in=[1x8x8x4] out=1x8x8x8 flops=36864 weights=1152 window={k=3x3 s=1x1 d=1x1 pad=t1,b1,l1,r1} operands=["image":window]
// CHECK-NEXT:  #2 "L0:leaky" eltwise in=[1x8x8x8] out=1x8x8x8 flops=2048 weights=32 operands=["L0:conv":pointwise]
// CHECK-NEXT:  #3 "L1:maxpool" maxpool in=[1x8x8x8] out=1x4x4x8 flops=512 weights=0 window={k=2x2 s=2x2 d=1x1 pad=t0,b1,l0,r1} operands=["L0:leaky":window]
// CHECK-NEXT:  outputs: "pooled"="L1:maxpool"
// CHECK-NEXT:  order: 0 1 2 3
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @chain(%arg0: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> attributes {mafat.input_names = ["image"], mafat.output_names = ["pooled"]} {
  %zero = arith.constant 0.0 : f32
  %pad = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x4xf32> to tensor<1x10x10x4xf32> loc("L0:pad")
  %filter = arith.constant dense<2.5e-01> : tensor<3x3x4x8xf32>
  %init = tensor.empty() : tensor<1x8x8x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:fill")
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad, %filter : tensor<1x10x10x4xf32>, tensor<3x3x4x8xf32>) outs(%acc : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
  %bias = arith.constant dense<5.0e-01> : tensor<8xf32>
  %linit = tensor.empty() : tensor<1x8x8x8xf32>
  %leaky = linalg.generic {indexing_maps = [#id4, #ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv, %bias : tensor<1x8x8x8xf32>, tensor<8xf32>) outs(%linit : tensor<1x8x8x8xf32>) {
  ^bb0(%in0: f32, %in1: f32, %out: f32):
    %0 = arith.addf %in0, %in1 : f32
    %1 = arith.constant 0.0 : f32
    %2 = arith.cmpf ogt, %0, %1 : f32
    %3 = arith.constant 0.1 : f32
    %4 = arith.mulf %0, %3 : f32
    %5 = arith.select %2, %0, %4 : f32
    linalg.yield %5 : f32
  } -> tensor<1x8x8x8xf32> loc("L0:leaky")
  %ninf = arith.constant 0xFF800000 : f32
  %ppad = tensor.pad %leaky low[0, 0, 0, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %ninf : f32
  } : tensor<1x8x8x8xf32> to tensor<1x9x9x8xf32> loc("L1:pad")
  %window = tensor.empty() : tensor<2x2xf32>
  %pinit = tensor.empty() : tensor<1x4x4x8xf32>
  %pacc = linalg.fill ins(%ninf : f32) outs(%pinit : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:fill")
  %pool = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%ppad, %window : tensor<1x9x9x8xf32>, tensor<2x2xf32>) outs(%pacc : tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> loc("L1:maxpool")
  return %pool : tensor<1x4x4x8xf32>
}

// -----

// Residual add: 1x1 conv, then add(conv, input) + ReLU in one generic. The
// input feeds two layers; the add reads both operands pointwise.
//   conv: 8*8*8 outputs * 8 MACs = 4096 MACs = 8192 FLOPs; filter 8*8*4 = 256 B
//   add:  512 elements * 2 ops (addf, maximumf) = 1024
// CHECK-LABEL: layer-graph @residual: 3 nodes, 9216 flops, 256 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x8x8x8
// CHECK-NEXT:  #1 "L0:conv" conv in=[1x8x8x8] out=1x8x8x8 flops=8192 weights=256 window={k=1x1 s=1x1 d=1x1 pad=t0,b0,l0,r0} operands=["input0":window]
// CHECK-NEXT:  #2 "L1:add" eltwise in=[1x8x8x8, 1x8x8x8] out=1x8x8x8 flops=1024 weights=0 operands=["L0:conv":pointwise, "input0":pointwise]
// CHECK-NEXT:  outputs: "output0"="L1:add"
// CHECK-NEXT:  order: 0 1 2
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @residual(%arg0: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %filter = arith.constant dense<1.0> : tensor<1x1x8x8xf32>
  %init = tensor.empty() : tensor<1x8x8x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%arg0, %filter : tensor<1x8x8x8xf32>, tensor<1x1x8x8xf32>) outs(%acc : tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc("L0:conv")
  %ainit = tensor.empty() : tensor<1x8x8x8xf32>
  %add = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%conv, %arg0 : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) outs(%ainit : tensor<1x8x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8x8xf32> loc("L1:add")
  return %add : tensor<1x8x8x8xf32>
}

// -----

// Channel concat, as tensor.concat and as the equivalent insert_slice chain
// (one layer either way; operands in channel order, read pointwise).
//   conv a: 4*4 outputs * 4 filters * 8 = 512 MACs = 1024 FLOPs, 8*4*4 = 128 B
//   conv b: 4*4 * 6 * 8 = 768 MACs = 1536 FLOPs, 8*6*4 = 192 B
// The insert chain has no name: it is called after its last op and its id.
// CHECK-LABEL: layer-graph @concat: 5 nodes, 2560 flops, 320 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x4x4x8
// CHECK-NEXT:  #1 "L0:conv" conv in=[1x4x4x8] out=1x4x4x4 flops=1024 weights=128
// CHECK-NEXT:  #2 "L1:conv" conv in=[1x4x4x8] out=1x4x4x6 flops=1536 weights=192
// CHECK-NEXT:  #3 "L2:concat" concat in=[1x4x4x4, 1x4x4x6] out=1x4x4x10 flops=0 weights=0 dim=3 operands=["L0:conv":pointwise, "L1:conv":pointwise]
// CHECK-NEXT:  #4 "tensor.insert_slice#4" concat in=[1x4x4x6, 1x4x4x4] out=1x4x4x10 flops=0 weights=0 dim=3 operands=["L1:conv":pointwise, "L0:conv":pointwise]
// CHECK-NEXT:  outputs: "output0"="L2:concat" "output1"="tensor.insert_slice#4"
func.func @concat(%arg0: tensor<1x4x4x8xf32>) -> (tensor<1x4x4x10xf32>, tensor<1x4x4x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %fa = arith.constant dense<1.0> : tensor<1x1x8x4xf32>
  %ia = tensor.empty() : tensor<1x4x4x4xf32>
  %aa = linalg.fill ins(%zero : f32) outs(%ia : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %a = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%arg0, %fa : tensor<1x4x4x8xf32>, tensor<1x1x8x4xf32>) outs(%aa : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> loc("L0:conv")
  %fb = arith.constant dense<1.0> : tensor<1x1x8x6xf32>
  %ib = tensor.empty() : tensor<1x4x4x6xf32>
  %ab = linalg.fill ins(%zero : f32) outs(%ib : tensor<1x4x4x6xf32>) -> tensor<1x4x4x6xf32>
  %b = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%arg0, %fb : tensor<1x4x4x8xf32>, tensor<1x1x8x6xf32>) outs(%ab : tensor<1x4x4x6xf32>) -> tensor<1x4x4x6xf32> loc("L1:conv")
  %cat = tensor.concat dim(3) %a, %b : (tensor<1x4x4x4xf32>, tensor<1x4x4x6xf32>) -> tensor<1x4x4x10xf32> loc("L2:concat")
  // The same concatenation, built in the other order: [b | a].
  %e = tensor.empty() : tensor<1x4x4x10xf32>
  %s0 = tensor.insert_slice %a into %e[0, 0, 0, 6] [1, 4, 4, 4] [1, 1, 1, 1] : tensor<1x4x4x4xf32> into tensor<1x4x4x10xf32>
  %s1 = tensor.insert_slice %b into %s0[0, 0, 0, 0] [1, 4, 4, 6] [1, 1, 1, 1] : tensor<1x4x4x6xf32> into tensor<1x4x4x10xf32>
  return %cat, %s1 : tensor<1x4x4x10xf32>, tensor<1x4x4x10xf32>
}

// -----

// Depthwise conv, stride 2, dilation 2, pad 2 folded in: padded 13, window
// extent (3-1)*2+1 = 5, (13-5)/2+1 = 5 outputs per side.
//   MACs: 5*5*16 outputs * 3*3 = 3600, FLOPs 7200; filter 3*3*16*4 = 576 B
// CHECK-LABEL: layer-graph @depthwise: 2 nodes, 7200 flops, 576 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x9x9x16
// CHECK-NEXT:  #1 "L0:dwconv" dwconv in=[1x9x9x16] out=1x5x5x16 flops=7200 weights=576 window={k=3x3 s=2x2 d=2x2 pad=t2,b2,l2,r2} operands=["input0":window]
func.func @depthwise(%arg0: tensor<1x9x9x16xf32>) -> tensor<1x5x5x16xf32> {
  %zero = arith.constant 0.0 : f32
  %pad = tensor.pad %arg0 low[0, 2, 2, 0] high[0, 2, 2, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x9x9x16xf32> to tensor<1x13x13x16xf32>
  %filter = arith.constant dense<1.0> : tensor<3x3x16xf32>
  %init = tensor.empty() : tensor<1x5x5x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x5x5x16xf32>) -> tensor<1x5x5x16xf32>
  %dw = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<2> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%pad, %filter : tensor<1x13x13x16xf32>, tensor<3x3x16xf32>) outs(%acc : tensor<1x5x5x16xf32>) -> tensor<1x5x5x16xf32> loc("L0:dwconv")
  return %dw : tensor<1x5x5x16xf32>
}

// -----

// Flatten + fully connected + bias: the flatten is a reshape layer that
// reads its operand whole, and so does the matmul.
//   matmul: 1*10*32 = 320 MACs = 640 FLOPs; weights 32*10*4 = 1280 B
//   bias:   10 elements * 1 op = 10 FLOPs; 10*4 = 40 B
// CHECK-LABEL: layer-graph @dense: 4 nodes, 650 flops, 1320 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x2x2x8
// CHECK-NEXT:  #1 "L0:flatten" reshape in=[1x2x2x8] out=1x32 flops=0 weights=0 operands=["input0":whole]
// CHECK-NEXT:  #2 "L0:matmul" matmul in=[1x32] out=1x10 flops=640 weights=1280 operands=["L0:flatten":whole]
// CHECK-NEXT:  #3 "L0:bias" eltwise in=[1x10] out=1x10 flops=10 weights=40 operands=["L0:matmul":pointwise]
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col2 = affine_map<(d0, d1) -> (d1)>
func.func @dense(%arg0: tensor<1x2x2x8xf32>) -> tensor<1x10xf32> {
  %zero = arith.constant 0.0 : f32
  %flat = tensor.collapse_shape %arg0 [[0], [1, 2, 3]] : tensor<1x2x2x8xf32> into tensor<1x32xf32> loc("L0:flatten")
  %w = arith.constant dense<1.25e-01> : tensor<32x10xf32>
  %init = tensor.empty() : tensor<1x10xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x10xf32>) -> tensor<1x10xf32>
  %mm = linalg.matmul ins(%flat, %w : tensor<1x32xf32>, tensor<32x10xf32>) outs(%acc : tensor<1x10xf32>) -> tensor<1x10xf32> loc("L0:matmul")
  %b = arith.constant dense<1.0> : tensor<10xf32>
  %binit = tensor.empty() : tensor<1x10xf32>
  %biased = linalg.generic {indexing_maps = [#id2, #col2, #id2], iterator_types = ["parallel", "parallel"]} ins(%mm, %b : tensor<1x10xf32>, tensor<10xf32>) outs(%binit : tensor<1x10xf32>) {
  ^bb0(%x: f32, %y: f32, %out: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<1x10xf32> loc("L0:bias")
  return %biased : tensor<1x10xf32>
}

// -----

// TOSA-style conv whose accumulator is a broadcast of the bias (computed
// from constants only, so folded: the bias counts as the conv's weights),
// stride 2 with TF-style asymmetric padding (top/left 0, bottom/right 1).
//   conv: 4*4 outputs * 2 filters * 3*3*1 = 288 MACs = 576 FLOPs
//   weights: filter 3*3*1*2*4 = 72 B + bias 2*4 = 8 B = 80 B
// CHECK-LABEL: layer-graph @tosa_bias: 2 nodes, 576 flops, 80 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x8x8x1
// CHECK-NEXT:  #1 "L0:conv" conv in=[1x8x8x1] out=1x4x4x2 flops=576 weights=80 window={k=3x3 s=2x2 d=1x1 pad=t0,b1,l0,r1} operands=["input0":window]
#ch4 = affine_map<(d0, d1, d2, d3) -> (d3)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @tosa_bias(%arg0: tensor<1x8x8x1xf32>) -> tensor<1x4x4x2xf32> {
  %zero = arith.constant 0.0 : f32
  %pad = tensor.pad %arg0 low[0, 0, 0, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x8x8x1xf32> to tensor<1x9x9x1xf32>
  %bias = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %e = tensor.empty() : tensor<1x4x4x2xf32>
  %bcast = linalg.generic {indexing_maps = [#ch4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%bias : tensor<2xf32>) outs(%e : tensor<1x4x4x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x4x4x2xf32>
  %filter = arith.constant dense<1.0> : tensor<3x3x1x2xf32>
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%pad, %filter : tensor<1x9x9x1xf32>, tensor<3x3x1x2xf32>) outs(%bcast : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> loc("L0:conv")
  return %conv : tensor<1x4x4x2xf32>
}

// -----

// A pad with a user other than a window op stays a layer of its own (a
// kernel-1 window); the conv then reads the padded map without padding.
// Repeated names get a #2 suffix.
//   conv: 4*4*2 outputs * 3*3*2 = 576 MACs = 1152 FLOPs; 3*3*2*2*4 = 144 B
//   negf: 6*6*2 = 72 elements * 1 op = 72
// CHECK-LABEL: layer-graph @shared_pad: 4 nodes, 1224 flops, 144 weight bytes
// CHECK-NEXT:  #0 "input0" input out=1x4x4x2
// CHECK-NEXT:  #1 "L0:pad" pad in=[1x4x4x2] out=1x6x6x2 flops=0 weights=0 window={k=1x1 s=1x1 d=1x1 pad=t1,b1,l1,r1} operands=["input0":window]
// CHECK-NEXT:  #2 "L0:conv" conv in=[1x6x6x2] out=1x4x4x2 flops=1152 weights=144 window={k=3x3 s=1x1 d=1x1 pad=t0,b0,l0,r0} operands=["L0:pad":window]
// CHECK-NEXT:  #3 "L0:conv#2" eltwise in=[1x6x6x2] out=1x6x6x2 flops=72 weights=0 operands=["L0:pad":pointwise]
// CHECK-NEXT:  outputs: "output0"="L0:conv" "output1"="L0:conv#2"
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @shared_pad(%arg0: tensor<1x4x4x2xf32>) -> (tensor<1x4x4x2xf32>, tensor<1x6x6x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %pad = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<1x4x4x2xf32> to tensor<1x6x6x2xf32> loc("L0:pad")
  %filter = arith.constant dense<1.0> : tensor<3x3x2x2xf32>
  %init = tensor.empty() : tensor<1x4x4x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%pad, %filter : tensor<1x6x6x2xf32>, tensor<3x3x2x2xf32>) outs(%acc : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32> loc("L0:conv")
  %e = tensor.empty() : tensor<1x6x6x2xf32>
  %neg = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%pad : tensor<1x6x6x2xf32>) outs(%e : tensor<1x6x6x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<1x6x6x2xf32> loc("L0:conv")
  return %conv, %neg : tensor<1x4x4x2xf32>, tensor<1x6x6x2xf32>
}

// -----

// Darknet's reorg as the importer writes it (permutation generics and
// reshapes through rank 1 and rank 5) is one reorg layer; nearest upsampling
// as a rank-6 broadcast + collapse_shape and as a floordiv map is one
// upsample layer each.
// CHECK-LABEL: layer-graph @reorg_upsample: 4 nodes, 0 flops, 0 weight bytes
// CHECK-NEXT:  #0 "x" input out=1x4x4x8
// CHECK-NEXT:  #1 "L0:transpose" reorg in=[1x4x4x8] out=1x2x2x32 flops=0 weights=0 stride=2 mode=darknet operands=["x":darknet-reorg]
// CHECK-NEXT:  #2 "L1:upsample" upsample in=[1x4x4x8] out=1x8x8x8 flops=0 weights=0 factor=2x2 operands=["x":upsample]
// CHECK-NEXT:  #3 "L2:upsample" upsample in=[1x4x4x8] out=1x12x12x8 flops=0 weights=0 factor=3x3 operands=["x":upsample]
// CHECK-NEXT:  outputs: "r"="L0:transpose" "u"="L1:upsample" "u2"="L2:upsample"
#bcast6 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d5)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#id6 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
#up3 = affine_map<(d0, d1, d2, d3) -> (d0, d1 floordiv 3, d2 floordiv 3, d3)>
func.func @reorg_upsample(%arg0: tensor<1x4x4x8xf32>) -> (tensor<1x2x2x32xf32>, tensor<1x8x8x8xf32>, tensor<1x12x12x8xf32>) attributes {mafat.input_names = ["x"], mafat.output_names = ["r", "u", "u2"]} {
  %t0i = tensor.empty() : tensor<1x8x4x4xf32>
  %t0 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x4x4x8xf32>) outs(%t0i : tensor<1x8x4x4xf32>) {
  ^bb0(%in0: f32, %out: f32):
    linalg.yield %in0 : f32
  } -> tensor<1x8x4x4xf32> loc("L0:transpose")
  %f0 = tensor.collapse_shape %t0 [[0, 1, 2, 3]] : tensor<1x8x4x4xf32> into tensor<128xf32>
  %v0 = tensor.expand_shape %f0 [[0, 1, 2, 3, 4]] output_shape [2, 4, 2, 4, 2] : tensor<128xf32> into tensor<2x4x2x4x2xf32>
  %t1i = tensor.empty() : tensor<2x2x2x4x4xf32>
  %t1 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d2, d3, d0, d4, d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%v0 : tensor<2x4x2x4x2xf32>) outs(%t1i : tensor<2x2x2x4x4xf32>) {
  ^bb0(%in0: f32, %out: f32):
    linalg.yield %in0 : f32
  } -> tensor<2x2x2x4x4xf32> loc("L0:transpose")
  %f1 = tensor.collapse_shape %t1 [[0, 1, 2, 3, 4]] : tensor<2x2x2x4x4xf32> into tensor<128xf32>
  %v1 = tensor.expand_shape %f1 [[0, 1, 2, 3]] output_shape [1, 32, 2, 2] : tensor<128xf32> into tensor<1x32x2x2xf32>
  %t2i = tensor.empty() : tensor<1x2x2x32xf32>
  %t2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v1 : tensor<1x32x2x2xf32>) outs(%t2i : tensor<1x2x2x32xf32>) {
  ^bb0(%in0: f32, %out: f32):
    linalg.yield %in0 : f32
  } -> tensor<1x2x2x32xf32> loc("L0:transpose")
  %u1i = tensor.empty() : tensor<1x4x2x4x2x8xf32>
  %u1 = linalg.generic {indexing_maps = [#bcast6, #id6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x4x4x8xf32>) outs(%u1i : tensor<1x4x2x4x2x8xf32>) {
  ^bb0(%in0: f32, %out: f32):
    linalg.yield %in0 : f32
  } -> tensor<1x4x2x4x2x8xf32> loc("L1:upsample")
  %u1c = tensor.collapse_shape %u1 [[0], [1, 2], [3, 4], [5]] : tensor<1x4x2x4x2x8xf32> into tensor<1x8x8x8xf32>
  %u2i = tensor.empty() : tensor<1x12x12x8xf32>
  %u2 = linalg.generic {indexing_maps = [#up3, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x4x4x8xf32>) outs(%u2i : tensor<1x12x12x8xf32>) {
  ^bb0(%in0: f32, %out: f32):
    linalg.yield %in0 : f32
  } -> tensor<1x12x12x8xf32> loc("L2:upsample")
  return %t2, %u1c, %u2 : tensor<1x2x2x32xf32>, tensor<1x8x8x8xf32>, tensor<1x12x12x8xf32>
}

// -----

// TensorFlow's space-to-depth written with linalg.transpose through rank 6
// is recognised as such (exact region mapping); a transpose followed by a
// flatten is no reorg and stays two layers.
// CHECK-LABEL: layer-graph @space_to_depth: 4 nodes
// CHECK-NEXT:  #0 "input0" input out=1x4x6x3
// CHECK-NEXT:  #1 "L0:s2d" reorg in=[1x4x6x3] out=1x2x3x12 flops=0 weights=0 stride=2 mode=space-to-depth operands=["input0":space-to-depth]
// CHECK-NEXT:  #2 "L1:transpose" transpose in=[1x4x6x3] out=1x6x4x3 flops=0 weights=0 operands=["input0":whole]
// CHECK-NEXT:  #3 "tensor.collapse_shape#3" reshape in=[1x6x4x3] out=1x72 flops=0 weights=0 operands=["L1:transpose":whole]
func.func @space_to_depth(%arg0: tensor<1x4x6x3xf32>) -> (tensor<1x2x3x12xf32>, tensor<1x72xf32>) {
  %v = tensor.expand_shape %arg0 [[0], [1, 2], [3, 4], [5]] output_shape [1, 2, 2, 3, 2, 3] : tensor<1x4x6x3xf32> into tensor<1x2x2x3x2x3xf32>
  %e = tensor.empty() : tensor<1x2x3x2x2x3xf32>
  %t = linalg.transpose ins(%v : tensor<1x2x2x3x2x3xf32>) outs(%e : tensor<1x2x3x2x2x3xf32>) permutation = [0, 1, 3, 2, 4, 5] loc("L0:s2d")
  %c = tensor.collapse_shape %t [[0], [1], [2], [3, 4, 5]] : tensor<1x2x3x2x2x3xf32> into tensor<1x2x3x12xf32>
  %e2 = tensor.empty() : tensor<1x6x4x3xf32>
  %t2 = linalg.transpose ins(%arg0 : tensor<1x4x6x3xf32>) outs(%e2 : tensor<1x6x4x3xf32>) permutation = [0, 2, 1, 3] loc("L1:transpose")
  %f = tensor.collapse_shape %t2 [[0], [1, 2, 3]] : tensor<1x6x4x3xf32> into tensor<1x72xf32>
  return %c, %f : tensor<1x2x3x12xf32>, tensor<1x72xf32>
}

// -----

// The layout transposes of an ONNX model's interface: NCHW to NHWC reads the
// same rows and columns of its operand, channels first (a group can take
// it); NHWC back to NCHW, whose result is no NHWC map, reads it whole.
// CHECK-LABEL: layer-graph @layouts: 3 nodes
// CHECK-NEXT:  #0 "image" input out=1x3x6x4
// CHECK-NEXT:  #1 "image.to_nhwc" transpose in=[1x3x6x4] out=1x6x4x3 flops=0 weights=0 operands=["image":channels-first]
// CHECK-NEXT:  #2 "out.to_nchw" transpose in=[1x6x4x3] out=1x3x6x4 flops=0 weights=0 operands=["image.to_nhwc":whole]
func.func @layouts(%arg0: tensor<1x3x6x4xf32>) -> tensor<1x3x6x4xf32> attributes {mafat.input_names = ["image"]} {
  %e = tensor.empty() : tensor<1x6x4x3xf32>
  %t = linalg.transpose ins(%arg0 : tensor<1x3x6x4xf32>) outs(%e : tensor<1x6x4x3xf32>) permutation = [0, 2, 3, 1] loc("image.to_nhwc")
  %e2 = tensor.empty() : tensor<1x3x6x4xf32>
  %t2 = linalg.transpose ins(%t : tensor<1x6x4x3xf32>) outs(%e2 : tensor<1x3x6x4xf32>) permutation = [0, 3, 1, 2] loc("out.to_nchw")
  return %t2 : tensor<1x3x6x4xf32>
}
