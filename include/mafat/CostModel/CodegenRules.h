//===- CodegenRules.h - What codegen will do, asked by the models -*- C++ -*-===//
//
// Decisions codegen makes that the cost models must price the same way.
// One home per rule: the transforms and both models call these functions,
// so the prediction cannot drift from the code.
//
// Today: the split-steps parallel form (mafat-parallelize). A layer's
// outermost register-block loop is split across the threads when the layer
// has at least `minWork` iterations (its linalg op's iteration space, i.e.
// multiply-accumulates for a conv); smaller layers run on the calling thread
// because a parallel launch costs more than it saves. Split steps own no
// buffers, so memory is the same for every thread count.
//
//===----------------------------------------------------------------------===//

#ifndef MAFAT_COSTMODEL_CODEGENRULES_H
#define MAFAT_COSTMODEL_CODEGENRULES_H

#include <cstdint>

namespace mafat {

/// Below this many iterations a layer is not split (a launch and its
/// barrier cost about as much as 30-60k multiply-accumulates on one core).
constexpr int64_t kDefaultMinParallelWork = 32768;

/// How the generated code may use threads.
struct ParallelOptions {
  /// Threads the model is compiled for (1 = serial).
  unsigned threads = 1;
  /// Smallest layer split across threads, in iterations.
  int64_t minWork = kDefaultMinParallelWork;
};

/// Whether a layer of `iterations` iterations is split across the threads.
inline bool splitsAcrossThreads(const ParallelOptions &options,
                                int64_t iterations) {
  return options.threads > 1 && iterations >= options.minWork;
}

} // namespace mafat

#endif // MAFAT_COSTMODEL_CODEGENRULES_H
