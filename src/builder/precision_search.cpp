#include "builder/precision_search.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace lowp::builder {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

double reformat(const SearchTensor& t, int from, int to) {
  if (from == to || from < 0 || to < 0) return 0;
  return t.reformatMs[static_cast<size_t>(from)][static_cast<size_t>(to)];
}

// Where each tensor comes from: (layer, output slot), or (-1, -1) for network inputs.
struct Producers {
  std::vector<std::pair<int, int>> of;
  std::vector<std::vector<std::pair<int, int>>> consumers;  // per tensor: (layer, input slot)
};

Producers indexProducers(const SearchProblem& p) {
  Producers r;
  r.of.assign(p.tensors.size(), {-1, -1});
  r.consumers.resize(p.tensors.size());
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const SearchLayer& layer = p.layers[l];
    for (size_t k = 0; k < layer.outputs.size(); ++k) {
      r.of[static_cast<size_t>(layer.outputs[k])] = {static_cast<int>(l), static_cast<int>(k)};
    }
    for (size_t k = 0; k < layer.inputs.size(); ++k) {
      r.consumers[static_cast<size_t>(layer.inputs[k])].emplace_back(static_cast<int>(l),
                                                                     static_cast<int>(k));
    }
  }
  return r;
}

// Conversion cost of tensor `t` produced in `produced` and wanted in the states `wanted`.
double tensorCost(const SearchTensor& t, int produced, const std::set<int>& wanted) {
  double cost = 0;
  for (int w : wanted) cost += reformat(t, produced, w);
  return cost;
}

int producedState(const SearchProblem& p, const Producers& prod, const std::vector<int>& tacticOf,
                  int tensor) {
  auto [layer, slot] = prod.of[static_cast<size_t>(tensor)];
  if (layer < 0) return p.tensors[static_cast<size_t>(tensor)].givenState;
  const SearchTactic& tac =
      p.layers[static_cast<size_t>(layer)].tactics[static_cast<size_t>(tacticOf[static_cast<size_t>(layer)])];
  return tac.outputStates[static_cast<size_t>(slot)];
}

std::set<int> wantedStates(const SearchProblem& p, const Producers& prod, const std::vector<int>& tacticOf,
                           int tensor) {
  std::set<int> wanted;
  for (auto [layer, slot] : prod.consumers[static_cast<size_t>(tensor)]) {
    int choice = tacticOf[static_cast<size_t>(layer)];
    if (choice < 0) continue;
    wanted.insert(p.layers[static_cast<size_t>(layer)]
                      .tactics[static_cast<size_t>(choice)]
                      .inputStates[static_cast<size_t>(slot)]);
  }
  int required = p.tensors[static_cast<size_t>(tensor)].requiredState;
  if (required >= 0) wanted.insert(required);
  return wanted;
}

// Tries every tactic of every layer in turn, keeping any change that lowers the exact total.
SearchSolution improveLocally(const SearchProblem& p, SearchSolution best) {
  for (bool improved = true; improved;) {
    improved = false;
    for (size_t l = 0; l < p.layers.size(); ++l) {
      for (size_t t = 0; t < p.layers[l].tactics.size(); ++t) {
        if (static_cast<int>(t) == best.tacticOf[l]) continue;
        std::vector<int> trial = best.tacticOf;
        trial[l] = static_cast<int>(t);
        SearchSolution s = evaluateChoice(p, std::move(trial));
        if (s.totalMs() < best.totalMs() - 1e-12) {
          best = std::move(s);
          improved = true;
        }
      }
    }
  }
  return best;
}

// The local search started inside `group`: each layer keeps only its tactics of the group (all of them when
// it has none), that problem is solved greedily and polished, and the choice is polished in the full problem.
SearchSolution fromGroup(const SearchProblem& p, int group) {
  SearchProblem restricted = p;
  std::vector<std::vector<int>> original(p.layers.size());
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const std::vector<SearchTactic>& all = p.layers[l].tactics;
    std::vector<SearchTactic> kept;
    for (size_t k = 0; k < all.size(); ++k) {
      if (all[k].group != group) continue;
      kept.push_back(all[k]);
      original[l].push_back(static_cast<int>(k));
    }
    if (kept.empty()) {
      kept = all;
      for (size_t k = 0; k < all.size(); ++k) original[l].push_back(static_cast<int>(k));
    }
    restricted.layers[l].tactics = std::move(kept);
  }
  const SearchSolution inside = improveLocally(restricted, searchGreedy(restricted));
  std::vector<int> choice;
  for (size_t l = 0; l < p.layers.size(); ++l)
    choice.push_back(original[l][static_cast<size_t>(inside.tacticOf[l])]);
  return improveLocally(p, evaluateChoice(p, std::move(choice)));
}

// The exact search over the layers in topological order, keyed by the states of the live tensors (produced,
// with a consumer still to come): per live tensor, the state it was produced in and the set of states it has
// already been converted to (consumers wanting one of those share that conversion). Every choice of tactics
// up to a layer that leaves the same key has the same future, so keeping the cheapest per key is exact.
// Gives up (nullopt) when a layer leaves more than `maxKeys` keys or a tensor has more than 64 states.
std::optional<SearchSolution> searchFrontier(const SearchProblem& p, size_t maxKeys) {
  const Producers prod = indexProducers(p);
  std::vector<int> lastUse(p.tensors.size(), -1);
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    if (p.tensors[t].stateCount > 64) return std::nullopt;
    for (auto [layer, slot] : prod.consumers[t]) lastUse[t] = std::max(lastUse[t], layer);
  }
  // A key: (tensor, produced state, converted-to mask) for each live tensor, by tensor id.
  struct Live {
    int tensor;
    int state;
    uint64_t converted;
    bool operator<(const Live& o) const {
      return std::tie(tensor, state, converted) < std::tie(o.tensor, o.state, o.converted);
    }
  };
  using Key = std::vector<Live>;
  struct Entry {
    double cost;
    int previous;  // index of the key it came from in the layer before
    int tactic;
  };
  // A tensor's last conversion: to the network output's required state, when it is one.
  auto finish = [&](int tensor, int state, uint64_t converted) {
    const SearchTensor& t = p.tensors[static_cast<size_t>(tensor)];
    const int required = t.requiredState;
    if (required < 0 || required == state || (converted >> required & 1) != 0) return 0.0;
    return reformat(t, state, required);
  };
  Key start;
  double fixed = 0;  // network inputs nothing reads
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    if (prod.of[t].first >= 0) continue;
    if (lastUse[t] >= 0) {
      start.push_back({static_cast<int>(t), p.tensors[t].givenState, 0});
    } else {
      fixed += finish(static_cast<int>(t), p.tensors[t].givenState, 0);
    }
  }
  std::vector<std::vector<std::pair<Key, Entry>>> steps(p.layers.size() + 1);
  steps[0].push_back({start, {fixed, -1, -1}});
  for (size_t l = 0; l < p.layers.size(); ++l) {
    const SearchLayer& layer = p.layers[l];
    std::map<Key, Entry> next;
    const auto& current = steps[l];
    for (size_t from = 0; from < current.size(); ++from) {
      const auto& [key, entry] = current[from];
      for (size_t k = 0; k < layer.tactics.size(); ++k) {
        const SearchTactic& tactic = layer.tactics[k];
        Key live = key;
        double cost = entry.cost + tactic.timeMs;
        for (size_t i = 0; i < layer.inputs.size(); ++i) {
          auto it = std::find_if(live.begin(), live.end(),
                                 [&](const Live& v) { return v.tensor == layer.inputs[i]; });
          if (it == live.end()) continue;  // not a tensor the search tracks
          const int want = tactic.inputStates[i];
          if (want < 0 || want == it->state || (it->converted >> want & 1) != 0) continue;
          cost += reformat(p.tensors[static_cast<size_t>(it->tensor)], it->state, want);
          it->converted |= uint64_t{1} << want;
        }
        std::erase_if(live, [&](const Live& v) {
          if (lastUse[static_cast<size_t>(v.tensor)] != static_cast<int>(l)) return false;
          cost += finish(v.tensor, v.state, v.converted);
          return true;
        });
        for (size_t o = 0; o < layer.outputs.size(); ++o) {
          const int tensor = layer.outputs[o];
          if (lastUse[static_cast<size_t>(tensor)] > static_cast<int>(l)) {
            live.push_back({tensor, tactic.outputStates[o], 0});
          } else {
            cost += finish(tensor, tactic.outputStates[o], 0);
          }
        }
        std::sort(live.begin(), live.end());
        auto [it, inserted] =
            next.try_emplace(std::move(live), Entry{cost, static_cast<int>(from), static_cast<int>(k)});
        if (!inserted && cost < it->second.cost)
          it->second = {cost, static_cast<int>(from), static_cast<int>(k)};
      }
    }
    if (next.size() > maxKeys) return std::nullopt;
    steps[l + 1].assign(std::make_move_iterator(next.begin()), std::make_move_iterator(next.end()));
  }
  const auto& last = steps.back();
  if (last.empty()) return std::nullopt;
  size_t best = 0;
  for (size_t i = 1; i < last.size(); ++i) {
    if (last[i].second.cost < last[best].second.cost) best = i;
  }
  std::vector<int> choice(p.layers.size(), 0);
  for (size_t l = p.layers.size(); l-- > 0;) {
    const Entry& e = steps[l + 1][best].second;
    choice[l] = e.tactic;
    best = static_cast<size_t>(e.previous);
  }
  return evaluateChoice(p, std::move(choice));
}

}  // namespace

SearchSolution evaluateChoice(const SearchProblem& p, std::vector<int> tacticOf) {
  Producers prod = indexProducers(p);
  SearchSolution s;
  for (size_t l = 0; l < p.layers.size(); ++l) {
    s.kernelMs += p.layers[l].tactics[static_cast<size_t>(tacticOf[l])].timeMs;
  }
  for (size_t t = 0; t < p.tensors.size(); ++t) {
    int produced = producedState(p, prod, tacticOf, static_cast<int>(t));
    s.reformatMs += tensorCost(p.tensors[t], produced, wantedStates(p, prod, tacticOf, static_cast<int>(t)));
  }
  s.tacticOf = std::move(tacticOf);
  return s;
}

SearchSolution searchGreedy(const SearchProblem& p) {
  std::vector<int> choice;
  for (const SearchLayer& layer : p.layers) {
    auto fastest =
        std::min_element(layer.tactics.begin(), layer.tactics.end(),
                         [](const SearchTactic& a, const SearchTactic& b) { return a.timeMs < b.timeMs; });
    choice.push_back(static_cast<int>(fastest - layer.tactics.begin()));
  }
  return evaluateChoice(p, std::move(choice));
}

SearchSolution searchGlobal(const SearchProblem& p, size_t maxExactKeys) {
  if (maxExactKeys > 0) {
    if (auto exact = searchFrontier(p, maxExactKeys)) return *exact;
  }
  Producers prod = indexProducers(p);
  const size_t layers = p.layers.size();
  // best[l][t]: the cheapest cost of layer l's inputs' history plus l itself with tactic t, each input's
  // producer chosen as if for this layer alone.
  std::vector<std::vector<double>> best(layers);
  // arrival(tensor, state): the cheapest cost of delivering the tensor in `state`.
  auto arrival = [&](int tensor, int state) {
    auto [layer, slot] = prod.of[static_cast<size_t>(tensor)];
    const SearchTensor& t = p.tensors[static_cast<size_t>(tensor)];
    if (layer < 0) return reformat(t, t.givenState, state);
    double cheapest = kInfinity;
    const SearchLayer& producer = p.layers[static_cast<size_t>(layer)];
    for (size_t k = 0; k < producer.tactics.size(); ++k) {
      int out = producer.tactics[k].outputStates[static_cast<size_t>(slot)];
      cheapest = std::min(cheapest, best[static_cast<size_t>(layer)][k] + reformat(t, out, state));
    }
    return cheapest;
  };
  for (size_t l = 0; l < layers; ++l) {
    const SearchLayer& layer = p.layers[l];
    best[l].resize(layer.tactics.size());
    for (size_t k = 0; k < layer.tactics.size(); ++k) {
      double cost = layer.tactics[k].timeMs;
      for (size_t i = 0; i < layer.inputs.size(); ++i)
        cost += arrival(layer.inputs[i], layer.tactics[k].inputStates[i]);
      best[l][k] = cost;
    }
  }
  // Fix choices from the outputs backwards: each layer picks its best tactic given what its fixed consumers
  // want.
  std::vector<int> choice(layers, -1);
  for (size_t l = layers; l-- > 0;) {
    const SearchLayer& layer = p.layers[l];
    double cheapest = kInfinity;
    for (size_t k = 0; k < layer.tactics.size(); ++k) {
      double cost = best[l][k];
      for (size_t o = 0; o < layer.outputs.size(); ++o) {
        int tensor = layer.outputs[o];
        cost += tensorCost(p.tensors[static_cast<size_t>(tensor)], layer.tactics[k].outputStates[o],
                           wantedStates(p, prod, choice, tensor));
      }
      if (cost < cheapest) {
        cheapest = cost;
        choice[l] = static_cast<int>(k);
      }
    }
  }
  SearchSolution result = improveLocally(p, evaluateChoice(p, std::move(choice)));
  SearchSolution fromGreedy = improveLocally(p, searchGreedy(p));
  if (fromGreedy.totalMs() < result.totalMs()) result = std::move(fromGreedy);
  std::set<int> groups;
  for (const SearchLayer& layer : p.layers) {
    for (const SearchTactic& t : layer.tactics) groups.insert(t.group);
  }
  if (groups.size() > 1) {
    for (int group : groups) {
      SearchSolution s = fromGroup(p, group);
      if (s.totalMs() < result.totalMs()) result = std::move(s);
    }
  }
  return result;
}

SearchSolution searchExhaustive(const SearchProblem& p, int64_t maxCombinations) {
  int64_t combinations = 1;
  for (const SearchLayer& layer : p.layers) {
    combinations *= static_cast<int64_t>(layer.tactics.size());
    if (combinations > maxCombinations) return {};
  }
  std::vector<int> choice(p.layers.size(), 0);
  SearchSolution best = evaluateChoice(p, choice);
  for (int64_t n = 1; n < combinations; ++n) {
    for (size_t l = 0; l < choice.size(); ++l) {  // odometer increment
      if (++choice[l] < static_cast<int>(p.layers[l].tactics.size())) break;
      choice[l] = 0;
    }
    SearchSolution s = evaluateChoice(p, choice);
    if (s.totalMs() < best.totalMs()) best = std::move(s);
  }
  return best;
}

}  // namespace lowp::builder
