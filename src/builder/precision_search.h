// The global precision and format search: given, for every layer, its candidate tactics (each fixing the
// (type, format) state of the layer's inputs and outputs and having a measured time), and for every tensor
// the time to convert it between states, choose one tactic per layer so that the sum of kernel times plus
// conversion (reformat/cast) times over the whole graph is smallest.
//
// Cost model. A tensor is produced in one state (its producer tactic's output state, or the network
// input's given state). Every distinct state its consumers' tactics (and, for a network output, the
// required output state) ask for, other than the produced one, costs one conversion of that tensor,
// shared by all consumers that want that state.
//
// Method. The search walks the layers in topological order keeping, for every distinct state of the live
// tensors (those produced and still to be read: per tensor, the state it was produced in and the states it
// has already been converted to), the cheapest choice so far. Two choices that leave the same live states
// have the same future costs, so this is exact on any DAG; its size grows with the number of tensors live
// at once (one on a chain, two or three in a residual network). Where a layer leaves more than
// `maxExactKeys` such keys (wide branching), a heuristic takes over: the same dynamic program with each
// layer's best cost per tactic computed as if its inputs' producers were chosen for it alone, choices fixed
// from the outputs backwards, then a local search that re-chooses one layer at a time until no single change
// lowers the exact total. Single changes cannot cross a valley where a whole region must change precision
// together (a residual block moves to int8 only when its convolutions, its residual and its output all do),
// so the local search also starts from each precision group: every layer restricted to its tactics of that
// group (where it has any), solved greedily and polished within the restriction, then polished in the full
// problem. The heuristic's result is never worse than the per-layer greedy choice (fastest kernel,
// conversions ignored), which is also one of the starting points the local search polishes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lowp::builder {

struct SearchTactic {
  std::string name;
  std::vector<int> inputStates;   ///< Per layer input, the index into that tensor's candidate states.
  std::vector<int> outputStates;  ///< Per layer output, the index into that tensor's candidate states.
  double timeMs = 0;              ///< Measured kernel time.
  int group = 0;                  ///< The caller's label for a starting point (the tactic's precision).
};

struct SearchLayer {
  std::string name;
  std::vector<int> inputs;   ///< Tensor ids.
  std::vector<int> outputs;  ///< Tensor ids.
  std::vector<SearchTactic> tactics;
};

struct SearchTensor {
  std::string name;
  /// Candidate states, e.g. {fp32 linear, fp16 linear, bf16 nChw16c}; what they are is the caller's.
  int stateCount = 1;
  /// reformatMs[from][to]: time to convert the tensor; the diagonal is ignored.
  std::vector<std::vector<double>> reformatMs;
  /// For a network input, the state the user gives it in (else -1).
  int givenState = -1;
  /// For a network output, the state the user receives it in (else -1).
  int requiredState = -1;
};

struct SearchProblem {
  std::vector<SearchTensor> tensors;
  std::vector<SearchLayer> layers;  ///< In topological order.
};

struct SearchSolution {
  std::vector<int> tacticOf;  ///< Per layer, the chosen tactic index.
  double kernelMs = 0;
  double reformatMs = 0;
  double totalMs() const { return kernelMs + reformatMs; }
};

/// The exact cost of a choice of tactics.
SearchSolution evaluateChoice(const SearchProblem& problem, std::vector<int> tacticOf);

/// Per layer, its fastest tactic, conversions ignored (then costed exactly).
SearchSolution searchGreedy(const SearchProblem& problem);

/// The global search described at the top of this file: exact while no layer leaves more than
/// `maxExactKeys` live-tensor states, the heuristic otherwise (0: the heuristic always).
SearchSolution searchGlobal(const SearchProblem& problem, size_t maxExactKeys = 4096);

/// Every combination of tactics; for tests on small problems (at most `maxCombinations`, else empty).
SearchSolution searchExhaustive(const SearchProblem& problem, int64_t maxCombinations = 1 << 20);

}  // namespace lowp::builder
