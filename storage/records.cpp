#include "storage/records.h"

#include <cstring>

namespace facedex::storage {
namespace {

// Version 2 of photos and faces appends the fields that keep names durable
// (missing_since; name source, rejections); version 1 records still decode.
// Version 3 of photos appends the detector; older photos were all HOG's.
constexpr uint8_t kPhotoVersion = 5;
// Version 3 of faces gives the descriptor's length (a model's, 16 to 4096);
// older faces hold dlib's 128 values.
constexpr uint8_t kFaceVersion = 3;
constexpr uint8_t kPersonVersion = 1;
// Version 2 appends the faces kept apart; version 1 reads with none.
constexpr uint8_t kHistoryVersion = 2;

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(char(v | 0x80));
      v >>= 7;
    }
    out_.push_back(char(v));
  }
  void svarint(int64_t v) { varint((uint64_t(v) << 1) ^ uint64_t(v >> 63)); }
  void f32(float v) { out_.append(reinterpret_cast<const char*>(&v), 4); }
  void str(const std::string& s) {
    varint(s.size());
    out_ += s;
  }
  void ids(const std::vector<uint64_t>& v) {
    varint(v.size());
    for (uint64_t id : v) varint(id);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(const std::string& s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool u8(uint8_t* v) {
    if (p_ >= end_) return false;
    *v = uint8_t(*p_++);
    return true;
  }
  bool varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t b = uint8_t(*p_++);
      r |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool svarint(int64_t* v) {
    uint64_t u;
    if (!varint(&u)) return false;
    *v = int64_t(u >> 1) ^ -int64_t(u & 1);
    return true;
  }
  bool i32(int* v) {
    int64_t x;
    if (!svarint(&x)) return false;
    *v = int(x);
    return true;
  }
  bool f32(float* v) {
    if (end_ - p_ < 4) return false;
    std::memcpy(v, p_, 4);
    p_ += 4;
    return true;
  }
  bool str(std::string* s) {
    uint64_t n;
    if (!varint(&n) || uint64_t(end_ - p_) < n) return false;
    s->assign(p_, size_t(n));
    p_ += n;
    return true;
  }
  bool ids(std::vector<uint64_t>* v) {
    uint64_t n;
    if (!varint(&n) || n > uint64_t(end_ - p_)) return false;  // each id takes at least a byte
    v->resize(size_t(n));
    for (auto& id : *v)
      if (!varint(&id)) return false;
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

std::string id_key(uint64_t id) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[size_t(i)] = char(id >> (56 - 8 * i));
  return k;
}

uint64_t id_from_key(const std::string& key) {
  uint64_t id = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) id = (id << 8) | uint8_t(key[i]);
  return id;
}

std::string encode(const Photo& p) {
  Writer w;
  w.u8(kPhotoVersion);
  w.varint(p.id);
  w.str(p.path);
  w.varint(p.size);
  w.svarint(p.mtime_ns);
  w.str(p.content_hash);
  w.svarint(p.width);
  w.svarint(p.height);
  w.svarint(p.orientation);
  w.str(p.format);
  w.str(p.taken_at);
  w.u8(uint8_t(p.status));
  w.str(p.failure);
  w.str(p.failure_kind);
  w.varint(p.face_ids.size());
  for (uint64_t id : p.face_ids) w.varint(id);
  w.svarint(p.indexed_at);
  w.svarint(p.missing_since);
  w.str(p.detector);
  w.str(p.tags_read);
  w.str(p.pixels_hash);
  return w.take();
}

bool decode(const std::string& bytes, Photo* p) {
  Reader r(bytes);
  uint8_t version, status;
  uint64_t n;
  if (!r.u8(&version) || version < 1 || version > kPhotoVersion) return false;
  if (!r.varint(&p->id) || !r.str(&p->path) || !r.varint(&p->size) || !r.svarint(&p->mtime_ns) ||
      !r.str(&p->content_hash) || !r.i32(&p->width) || !r.i32(&p->height) || !r.i32(&p->orientation) ||
      !r.str(&p->format) || !r.str(&p->taken_at) || !r.u8(&status) || status > 1 || !r.str(&p->failure) ||
      !r.str(&p->failure_kind) || !r.varint(&n) || n > (1u << 20))
    return false;
  p->status = PhotoStatus(status);
  p->face_ids.resize(size_t(n));
  for (auto& id : p->face_ids)
    if (!r.varint(&id)) return false;
  if (!r.svarint(&p->indexed_at)) return false;
  p->missing_since = 0;
  if (version >= 2 && !r.svarint(&p->missing_since)) return false;
  p->detector = "hog";
  if (version >= 3 && !r.str(&p->detector)) return false;
  p->tags_read.clear();
  if (version >= 4 && !r.str(&p->tags_read)) return false;
  p->pixels_hash.clear();
  if (version >= 5 && !r.str(&p->pixels_hash)) return false;
  return r.done();
}

std::string encode(const Face& f) {
  Writer w;
  w.u8(kFaceVersion);
  w.varint(f.id);
  w.varint(f.photo_id);
  w.svarint(f.box.left);
  w.svarint(f.box.top);
  w.svarint(f.box.right);
  w.svarint(f.box.bottom);
  w.f32(f.score);
  w.varint(f.landmarks.size());
  for (const auto& pt : f.landmarks) {
    w.f32(pt[0]);
    w.f32(pt[1]);
  }
  w.varint(f.descriptor.size());
  for (float v : f.descriptor) w.f32(v);
  w.str(f.model);
  w.str(f.thumbnail_jpeg);
  w.varint(f.person_id);
  w.varint(f.cluster_id);
  w.u8(uint8_t(f.name_source));
  w.ids(f.rejected_person_ids);
  w.ids(f.not_with_face_ids);
  return w.take();
}

bool decode(const std::string& bytes, Face* f) {
  Reader r(bytes);
  uint8_t version;
  uint64_t n;
  if (!r.u8(&version) || version < 1 || version > kFaceVersion) return false;
  if (!r.varint(&f->id) || !r.varint(&f->photo_id) || !r.i32(&f->box.left) || !r.i32(&f->box.top) ||
      !r.i32(&f->box.right) || !r.i32(&f->box.bottom) || !r.f32(&f->score) || !r.varint(&n) || n > 1000)
    return false;
  f->landmarks.resize(size_t(n));
  for (auto& pt : f->landmarks)
    if (!r.f32(&pt[0]) || !r.f32(&pt[1])) return false;
  uint64_t dims = kDescriptorDims;
  if (version >= 3 && (!r.varint(&dims) || dims < uint64_t(kMinDescriptorDims) || dims > uint64_t(kMaxDescriptorDims)))
    return false;
  f->descriptor.resize(size_t(dims));
  for (float& v : f->descriptor)
    if (!r.f32(&v)) return false;
  if (!r.str(&f->model) || !r.str(&f->thumbnail_jpeg) || !r.varint(&f->person_id) || !r.varint(&f->cluster_id))
    return false;
  f->name_source = f->person_id ? NameSource::kUser : NameSource::kNone;  // version 1: every name was a user's
  f->rejected_person_ids.clear();
  f->not_with_face_ids.clear();
  if (version >= 2) {
    uint8_t source;
    if (!r.u8(&source) || source > 2 || !r.ids(&f->rejected_person_ids) || !r.ids(&f->not_with_face_ids)) return false;
    f->name_source = NameSource(source);
  }
  return r.done();
}

std::string encode(const Person& p) {
  Writer w;
  w.u8(kPersonVersion);
  w.varint(p.id);
  w.str(p.name);
  w.svarint(p.created_at);
  return w.take();
}

bool decode(const std::string& bytes, Person* p) {
  Reader r(bytes);
  uint8_t version;
  if (!r.u8(&version) || version != kPersonVersion) return false;
  return r.varint(&p->id) && r.str(&p->name) && r.svarint(&p->created_at) && r.done();
}

FaceLabels labels_of(const Face& f) {
  return {f.person_id, f.name_source, f.cluster_id, f.rejected_person_ids, f.not_with_face_ids};
}

void set_labels(Face* f, const FaceLabels& labels) {
  f->person_id = labels.person_id;
  f->name_source = labels.name_source;
  f->cluster_id = labels.cluster_id;
  f->rejected_person_ids = labels.rejected_person_ids;
  f->not_with_face_ids = labels.not_with_face_ids;
}

namespace {

void write_labels(Writer& w, const FaceLabels& l) {
  w.varint(l.person_id);
  w.u8(uint8_t(l.name_source));
  w.varint(l.cluster_id);
  w.ids(l.rejected_person_ids);
  w.ids(l.not_with_face_ids);
}

bool read_labels(Reader& r, FaceLabels* l) {
  uint8_t source;
  if (!r.varint(&l->person_id) || !r.u8(&source) || source > 2 || !r.varint(&l->cluster_id) ||
      !r.ids(&l->rejected_person_ids) || !r.ids(&l->not_with_face_ids))
    return false;
  l->name_source = NameSource(source);
  return true;
}

}  // namespace

std::string encode(const HistoryEntry& h) {
  Writer w;
  w.u8(kHistoryVersion);
  w.varint(h.id);
  w.svarint(h.at);
  w.str(h.action);
  w.str(h.summary);
  w.varint(h.faces.size());
  for (const auto& c : h.faces) {
    w.varint(c.face_id);
    write_labels(w, c.before);
    write_labels(w, c.after);
  }
  w.varint(h.persons.size());
  for (const auto& c : h.persons) {
    w.varint(c.person_id);
    w.u8(uint8_t(c.existed_before) | uint8_t(c.exists_after) << 1);
    w.str(c.name_before);
    w.str(c.name_after);
    w.svarint(c.created_at);
  }
  w.varint(h.undoes);
  w.varint(h.undone_by);
  for (const auto* side : {&h.apart_a, &h.apart_b}) {
    w.varint(side->size());
    for (uint64_t id : *side) w.varint(id);
  }
  return w.take();
}

bool decode(const std::string& bytes, HistoryEntry* h) {
  Reader r(bytes);
  uint8_t version;
  uint64_t n;
  if (!r.u8(&version) || version < 1 || version > kHistoryVersion) return false;
  if (!r.varint(&h->id) || !r.svarint(&h->at) || !r.str(&h->action) || !r.str(&h->summary) || !r.varint(&n) ||
      n > bytes.size())
    return false;
  h->faces.resize(size_t(n));
  for (auto& c : h->faces)
    if (!r.varint(&c.face_id) || !read_labels(r, &c.before) || !read_labels(r, &c.after)) return false;
  if (!r.varint(&n) || n > bytes.size()) return false;
  h->persons.resize(size_t(n));
  for (auto& c : h->persons) {
    uint8_t flags;
    if (!r.varint(&c.person_id) || !r.u8(&flags) || flags > 3 || !r.str(&c.name_before) || !r.str(&c.name_after) ||
        !r.svarint(&c.created_at))
      return false;
    c.existed_before = flags & 1;
    c.exists_after = flags & 2;
  }
  if (!r.varint(&h->undoes) || !r.varint(&h->undone_by)) return false;
  if (version >= 2)
    for (auto* side : {&h->apart_a, &h->apart_b}) {
      if (!r.varint(&n) || n > bytes.size()) return false;
      side->resize(size_t(n));
      for (auto& id : *side)
        if (!r.varint(&id)) return false;
    }
  return r.done();
}

}  // namespace facedex::storage
