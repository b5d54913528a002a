#include "storage/vector_index.h"

#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "storage/ann/fast_search.h"

namespace facedex::storage {
namespace {

class FaissVectorIndex final : public VectorIndex {
 public:
  FaissVectorIndex(std::unique_ptr<faiss::Index> index, std::string factory)
      : index_(std::move(index)), factory_(std::move(factory)) {}

  void add(const std::vector<uint64_t>& ids, const std::vector<Descriptor>& vectors) override {
    if (ids.empty()) return;
    std::vector<faiss::Index::idx_t> labels(ids.begin(), ids.end());
    index_->add_with_ids(faiss::Index::idx_t(ids.size()), flatten(vectors, size_t(index_->d)).data(), labels.data());
  }

  size_t remove(const std::vector<uint64_t>& ids) override {
    if (ids.empty()) return 0;
    std::vector<faiss::Index::idx_t> labels(ids.begin(), ids.end());
    faiss::IDSelectorBatch selector(labels.size(), labels.data());
    try {
      return index_->remove_ids(selector);
    } catch (const faiss::FaissException&) {
      // HNSW cannot remove vectors: hide them from every answer until the
      // gallery rebuilds the index from the store (at its next save).
      size_t hidden = 0;
      for (uint64_t id : ids) hidden += tombstones_.insert(id).second;
      return hidden;
    }
  }

  std::vector<Neighbor> search(const Descriptor& query, int k) const override { return search_many({query}, k).at(0); }

  std::vector<std::vector<Neighbor>> search_many(const std::vector<Descriptor>& queries, int k) const override {
    std::vector<std::vector<Neighbor>> out(queries.size());
    if (k <= 0 || index_->ntotal == 0 || queries.empty()) return out;
    // Ask for more when removed-but-present vectors may take places.
    const int ask = int(std::min<faiss::Index::idx_t>(k + faiss::Index::idx_t(tombstones_.size()), index_->ntotal));
    const size_t chunk = 4096;  // bounds the result buffers for million-face galleries
    std::vector<float> d2(chunk * size_t(ask));
    std::vector<faiss::Index::idx_t> labels(chunk * size_t(ask));
    for (size_t start = 0; start < queries.size(); start += chunk) {
      const size_t n = std::min(chunk, queries.size() - start);
      const std::vector<float> block = flatten(queries, size_t(index_->d), start, n);
      index_->search(faiss::Index::idx_t(n), block.data(), ask, d2.data(), labels.data());
      for (size_t q = 0; q < n; ++q)
        for (int i = 0; i < ask && out[start + q].size() < size_t(k); ++i) {
          const size_t at = q * size_t(ask) + size_t(i);
          if (labels[at] < 0 || tombstones_.count(uint64_t(labels[at]))) continue;
          out[start + q].push_back({uint64_t(labels[at]), std::sqrt(std::max(0.f, d2[at]))});
        }
    }
    return out;
  }

  size_t size() const override { return size_t(index_->ntotal) - tombstones_.size(); }
  int dims() const override { return int(index_->d); }
  std::vector<uint64_t> ids() const override {
    std::vector<uint64_t> out;
    auto keep = [&](faiss::Index::idx_t id) {
      if (!tombstones_.count(uint64_t(id))) out.push_back(uint64_t(id));
    };
    if (const auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get())) {
      for (auto id : map->id_map) keep(id);
    } else if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index_.get())) {
      for (size_t list = 0; list < ivf->nlist; ++list) {
        const faiss::Index::idx_t* ids = ivf->invlists->get_ids(list);
        for (size_t i = 0; i < ivf->invlists->list_size(list); ++i) keep(ids[i]);
        ivf->invlists->release_ids(list, ids);
      }
    }
    return out;
  }
  bool has_hidden_removals() const override { return !tombstones_.empty(); }
  bool for_each_vector(const std::function<void(uint64_t id, const float* v)>& fn) const override {
    if (const auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get())) {
      const auto* flat = dynamic_cast<const faiss::IndexFlat*>(map->index);
      if (!flat) return false;
      const float* xb = flat->get_xb();
      for (size_t i = 0; i < map->id_map.size(); ++i)
        if (!tombstones_.count(uint64_t(map->id_map[i]))) fn(uint64_t(map->id_map[i]), xb + i * size_t(index_->d));
      return true;
    }
    const auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(index_.get());
    if (!ivf) return false;
    for (size_t list = 0; list < ivf->nlist; ++list) {
      const size_t n = ivf->invlists->list_size(list);
      const faiss::Index::idx_t* ids = ivf->invlists->get_ids(list);
      const uint8_t* codes = ivf->invlists->get_codes(list);
      for (size_t i = 0; i < n; ++i) fn(uint64_t(ids[i]), reinterpret_cast<const float*>(codes + i * ivf->code_size));
      ivf->invlists->release_codes(list, codes);
      ivf->invlists->release_ids(list, ids);
    }
    return true;
  }
  std::string type() const override { return factory_; }
  std::string search_method() const override {
    const std::string described = describe_search(*index_);
    return described.empty() ? "approximate" : described;
  }
  const faiss::Index& faiss_index() const { return *index_; }

 private:
  std::unique_ptr<faiss::Index> index_;
  std::string factory_;
  std::unordered_set<uint64_t> tombstones_;  // removed, still inside an index that cannot remove
};

class BruteForceVectorIndex final : public VectorIndex {
 public:
  void add(const std::vector<uint64_t>& ids, const std::vector<Descriptor>& vectors) override {
    for (size_t i = 0; i < ids.size(); ++i) {
      slot_[ids[i]] = ids_.size();
      ids_.push_back(ids[i]);
      vectors_.push_back(vectors[i]);
    }
  }

  size_t remove(const std::vector<uint64_t>& ids) override {
    size_t removed = 0;
    for (uint64_t id : ids) {
      auto it = slot_.find(id);
      if (it == slot_.end()) continue;
      const size_t s = it->second, last = ids_.size() - 1;
      ids_[s] = ids_[last];
      vectors_[s] = vectors_[last];
      slot_[ids_[s]] = s;
      ids_.pop_back();
      vectors_.pop_back();
      slot_.erase(id);
      ++removed;
    }
    return removed;
  }

  std::vector<Neighbor> search(const Descriptor& q, int k) const override {
    std::vector<Neighbor> all(ids_.size());
    for (size_t i = 0; i < ids_.size(); ++i) {
      double s = 0;
      for (size_t d = 0; d < q.size(); ++d) s += double(q[d] - vectors_[i][d]) * (q[d] - vectors_[i][d]);
      all[i] = {ids_[i], float(std::sqrt(s))};
    }
    const size_t n = std::min(all.size(), size_t(std::max(k, 0)));
    std::partial_sort(all.begin(), all.begin() + long(n), all.end(),
                      [](const Neighbor& a, const Neighbor& b) { return a.distance < b.distance; });
    all.resize(n);
    return all;
  }

  size_t size() const override { return ids_.size(); }
  int dims() const override { return vectors_.empty() ? 0 : int(vectors_[0].size()); }
  std::vector<uint64_t> ids() const override { return ids_; }
  bool for_each_vector(const std::function<void(uint64_t id, const float* v)>& fn) const override {
    for (size_t i = 0; i < ids_.size(); ++i) fn(ids_[i], vectors_[i].data());
    return true;
  }
  std::string type() const override { return "BruteForce"; }

 private:
  std::vector<uint64_t> ids_;
  std::vector<Descriptor> vectors_;
  std::unordered_map<uint64_t, size_t> slot_;
};

}  // namespace

std::vector<std::vector<Neighbor>> VectorIndex::search_many(const std::vector<Descriptor>& queries, int k) const {
  std::vector<std::vector<Neighbor>> out;
  out.reserve(queries.size());
  for (const auto& q : queries) out.push_back(search(q, k));
  return out;
}

Expected<std::unique_ptr<VectorIndex>> make_faiss_index(const std::string& factory, int dims) {
  if (dims < kMinDescriptorDims || dims > kMaxDescriptorDims)
    return Status::invalid_input("descriptors of " + std::to_string(dims) + " values cannot be indexed");
  try {
    std::unique_ptr<faiss::Index> index(faiss::index_factory(dims, ("IDMap," + factory).c_str()));
    if (!index->is_trained)
      return Status::unsupported("index type " + factory + " learns from data: use make_trained_faiss_index");
    return std::unique_ptr<VectorIndex>(new FaissVectorIndex(with_fast_search(std::move(index)), factory));
  } catch (const faiss::FaissException& e) {
    return Status::invalid_input("index type '" + factory + "' is not a FAISS factory string (" + e.what() + ")");
  }
}

Expected<std::unique_ptr<VectorIndex>> make_trained_faiss_index(const std::string& factory, int dims,
                                                                const std::vector<Descriptor>& data,
                                                                const std::string& search_parameters) {
  if (dims < kMinDescriptorDims || dims > kMaxDescriptorDims)
    return Status::invalid_input("descriptors of " + std::to_string(dims) + " values cannot be indexed");
  try {
    // IVF indexes keep the caller's ids themselves; wrapped in an IDMap their
    // removals would break the map (IDMap assumes the inner index renumbers
    // its vectors on removal, as Flat does and IVF does not).
    const bool keeps_ids = factory.rfind("IVF", 0) == 0;
    std::unique_ptr<faiss::Index> index(faiss::index_factory(dims, ((keeps_ids ? "" : "IDMap,") + factory).c_str()));
    if (!index->is_trained) {
      // An even sample of the data, 64 points per inverted list (FAISS wants 39-256).
      const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index.get());
      const size_t lists = ivf ? ivf->nlist : 1;
      if (data.size() < lists)
        return Status::invalid_input("index type " + factory + " needs at least " + std::to_string(lists) +
                                     " faces to learn from; there are " + std::to_string(data.size()));
      const size_t sample = std::min(data.size(), ivf ? lists * 64 : data.size());
      std::vector<float> training(sample * size_t(dims));
      for (size_t i = 0; i < sample; ++i) {
        const Descriptor& v = data[i * data.size() / sample];
        if (v.size() != size_t(dims))
          return Status::invalid_input("a descriptor of " + std::to_string(v.size()) + " values among " +
                                       std::to_string(dims) + "-d ones");
        std::copy(v.begin(), v.end(), training.begin() + long(i * size_t(dims)));
      }
      index->train(faiss::Index::idx_t(sample), training.data());
    }
    index = with_fast_search(std::move(index));
    if (!search_parameters.empty())
      faiss::ParameterSpace().set_index_parameters(index.get(), search_parameters.c_str());
    return std::unique_ptr<VectorIndex>(new FaissVectorIndex(std::move(index), factory));
  } catch (const faiss::FaissException& e) {
    return Status::invalid_input("index type '" + factory + "' could not be made (" + e.what() + ")");
  }
}

std::unique_ptr<VectorIndex> make_brute_force_index() { return std::make_unique<BruteForceVectorIndex>(); }

Status write_faiss_index(const VectorIndex& index, FILE* out) {
  const auto* faiss_index = dynamic_cast<const FaissVectorIndex*>(&index);
  if (!faiss_index) return Status::unsupported("only FAISS indexes can be saved");
  try {
    faiss::write_index(&faiss_index->faiss_index(), out);
  } catch (const faiss::FaissException& e) {
    return Status::io_error(std::string("cannot write the vector index (") + e.what() + ")");
  }
  return Status::ok();
}

Expected<std::unique_ptr<VectorIndex>> read_faiss_index(FILE* in, const std::string& factory, int dims,
                                                        const std::string& search_parameters) {
  try {
    std::unique_ptr<faiss::Index> index(faiss::read_index(in));
    if (index->d != dims)
      return Status::corruption("vector index holds " + std::to_string(index->d) + "-d vectors, the gallery " +
                                std::to_string(dims) + "-d descriptors");
    index = with_fast_search(std::move(index));
    if (!search_parameters.empty())
      faiss::ParameterSpace().set_index_parameters(index.get(), search_parameters.c_str());
    return std::unique_ptr<VectorIndex>(new FaissVectorIndex(std::move(index), factory));
  } catch (const faiss::FaissException& e) {
    return Status::corruption(std::string("unreadable vector index (") + e.what() + ")");
  }
}

}  // namespace facedex::storage
