#include "search/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "models/model_constants.h"
#include "search/face_clustering.h"
#include "search/gallery_clusters.h"
#include "search/group_split.h"
#include "storage/vector_index.h"
#include "util/csv.h"
#include "util/utf8.h"

namespace facedex::search {
namespace {

// At most this many faces of each side are compared, spread over the side.
constexpr size_t kComparedPerSide = 32;
// Faces of each side a two-people finding shows, spread over the side.
constexpr size_t kFacesShownPerSide = 6;

// The face pairs compared between sets `a` and `b` (indexes into the report's faces).
std::vector<std::pair<size_t, size_t>> compared_pairs(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  const size_t sa = std::min(a.size(), kComparedPerSide), sb = std::min(b.size(), kComparedPerSide);
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(sa * sb);
  for (size_t i = 0; i < sa; ++i)
    for (size_t j = 0; j < sb; ++j) out.push_back({a[i * a.size() / sa], b[j * b.size() / sb]});
  return out;
}

std::string file_url(const std::string& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string group_page(const ReportGroup& g, size_t page) {
  std::string base = g.kind + "-" + std::to_string(g.id);
  return page == 0 ? base + ".html" : base + "-" + std::to_string(page + 1) + ".html";
}

std::string index_page(size_t page) { return page == 0 ? "index.html" : "index-" + std::to_string(page + 1) + ".html"; }

const char* kStyle =
    "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<style>body{font-family:sans-serif;margin:0.8em;background:#fafafa;color:#222}"
    "a{color:#0645ad}.row{margin:0.6em 0;padding:0.4em;background:#fff;border:1px solid #ddd;border-radius:4px}"
    ".strip,.grid{display:flex;flex-wrap:wrap;gap:4px}.face{display:inline-block;text-align:center;font-size:11px;"
    "width:96px;overflow:hidden;word-break:break-all}img{width:96px;height:96px;border-radius:3px;background:#eee}"
    ".pair{display:flex;gap:1em;align-items:center}nav{margin:0.8em 0}h1{font-size:1.3em}</style>";

std::string pager(size_t page, size_t pages, const std::function<std::string(size_t)>& name) {
  if (pages <= 1) return "";
  std::string out = "<nav>page " + std::to_string(page + 1) + " of " + std::to_string(pages) + ": ";
  if (page > 0) out += "<a href=\"" + name(page - 1) + "\">previous</a> ";
  if (page + 1 < pages) out += "<a href=\"" + name(page + 1) + "\">next</a>";
  return out + "</nav>";
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::io_error(path + ": cannot write (disk full?)");
  // Reports hold face thumbnails and names: private like the database.
  ::chmod(path.c_str(), 0600);
  return Status::ok();
}

// Text a POSIX shell reads back as one word.
std::string shell_word(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command that accepts "one person": merge two names, name a cluster, or
// give two clusters one name.
std::string accept_command(const ReportGroup& a, const ReportGroup& b) {
  if (a.kind == "person" && b.kind == "person") return "facedex merge " + shell_word(a.name) + " " + shell_word(b.name);
  if (a.kind == "person") return "facedex name --cluster " + std::to_string(b.id) + " " + shell_word(a.name);
  if (b.kind == "person") return "facedex name --cluster " + std::to_string(a.id) + " " + shell_word(b.name);
  return "facedex name --cluster " + std::to_string(a.id) + " NAME && facedex name --cluster " + std::to_string(b.id) +
         " NAME";
}

// The command that accepts "two people": the second part's faces become a
// person of their own (a cluster's parts both need a name).
std::string split_command(const ReportGroup& g, const std::vector<uint64_t>& second) {
  std::string out = "facedex split --name " + (g.kind == "person" ? shell_word(g.name + " (2)") : std::string("NAME"));
  for (uint64_t id : second) out += " --face " + std::to_string(id);
  if (g.kind == "person") return out;
  return out + " && facedex name --cluster " + std::to_string(g.id) + " OTHER_NAME";
}

std::string reject_command(const ReportGroup& a, const ReportGroup& b) {
  return "facedex different " + shell_word(a.name) + " " + shell_word(b.name);
}

// Pairs of face sets a user said are different people (history "different"
// entries still in effect).
struct KeptApart {
  std::vector<std::pair<std::set<uint64_t>, std::set<uint64_t>>> sides;
  // Face sets a user said are one person ("same" entries still in effect).
  std::vector<std::set<uint64_t>> together;
  // True when a user kept a face of `a` together with a face of `b`.
  bool kept_together(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) const {
    auto any_in = [](const std::vector<uint64_t>& faces, const std::set<uint64_t>& ids) {
      return std::any_of(faces.begin(), faces.end(), [&](uint64_t id) { return ids.count(id) > 0; });
    };
    return std::any_of(together.begin(), together.end(),
                       [&](const std::set<uint64_t>& ids) { return any_in(a, ids) && any_in(b, ids); });
  }
  // True when a user kept a face of `a` apart from a face of `b`.
  bool covers(const std::vector<size_t>& a, const std::vector<size_t>& b, const Report& r) const {
    auto any_in = [&](const std::vector<size_t>& faces, const std::set<uint64_t>& ids) {
      for (size_t i : faces)
        if (ids.count(r.faces[i].face_id)) return true;
      return false;
    };
    for (const auto& [x, y] : sides)
      if ((any_in(a, x) && any_in(b, y)) || (any_in(a, y) && any_in(b, x))) return true;
    return false;
  }
};

Expected<KeptApart> kept_apart(const storage::GalleryStore& store) {
  KeptApart out;
  Status s = store.for_each_history_newest_first([&](const storage::HistoryEntry& h) {
    if (h.action == "different" && !h.undone_by)
      out.sides.push_back({{h.apart_a.begin(), h.apart_a.end()}, {h.apart_b.begin(), h.apart_b.end()}});
    if (h.action == "same" && !h.undone_by) out.together.push_back({h.apart_a.begin(), h.apart_a.end()});
    return true;
  });
  if (!s) return s;
  return out;
}

constexpr size_t kCrowdingRank = 10;  // as clustering measures it
constexpr size_t kPairsShown = 3;

// Each face of a candidate group: its distance to its 10th nearest gallery
// face outside its group (0 for faces not in a candidate).
std::vector<float> group_crowding(const storage::Gallery& gallery, const Report& r,
                                  const std::vector<Descriptor>& descriptors, const std::vector<size_t>& group_of,
                                  const std::vector<std::pair<size_t, size_t>>& candidates) {
  std::set<size_t> groups;
  for (const auto& [a, b] : candidates) groups.insert(a), groups.insert(b);
  std::map<uint64_t, size_t> index_of;
  for (size_t i = 0; i < r.faces.size(); ++i) index_of[r.faces[i].face_id] = i;
  std::vector<size_t> faces;
  for (size_t g : groups)
    for (size_t i : r.groups[g].faces) faces.push_back(i);
  std::vector<Descriptor> queries;
  for (size_t i : faces) queries.push_back(descriptors[i]);
  std::vector<float> out(r.faces.size(), 0.f);
  const int k = int(kCrowdingRank + kComparedPerSide * 2);
  const auto knn = gallery.vectors().search_many(queries, k);
  for (size_t q = 0; q < faces.size(); ++q) {
    const size_t own = group_of[faces[q]];
    size_t outside = 0;
    float last = 0;
    for (const auto& n : knn[q]) {
      auto it = index_of.find(n.id);
      if (it == index_of.end() || it->second == faces[q]) continue;
      last = n.distance;
      if (group_of[it->second] == own) continue;
      if (++outside == kCrowdingRank) break;
    }
    out[faces[q]] = last;  // fewer than 10 outside: the furthest seen, a lower bound
  }
  return out;
}

// The evidence that groups `a` and `b` are one person, over their compared pairs.
Finding compare_groups(const Report& r, const std::vector<Descriptor>& d, const std::vector<float>& crowding,
                       const std::vector<size_t>& a, const std::vector<size_t>& b, const ReportOptions& options) {
  struct Pair {
    float distance;
    size_t x, y;
  };
  std::vector<Pair> pairs;
  double sum = 0, crowded = 0;
  Finding f;
  for (const auto& [x, y] : compared_pairs(a, b)) {
    const float dist = descriptor_distance(d[x], d[y]);
    sum += dist;
    crowded += dist / std::max(1e-3f, std::sqrt(crowding[x] * crowding[y]));
    f.close_pairs += dist < options.close_distance;
    pairs.push_back({dist, x, y});
  }
  f.pairs = pairs.size();
  f.distance = float(sum / double(f.pairs));
  f.crowded_distance = float(crowded / double(f.pairs));
  std::sort(pairs.begin(), pairs.end(), [](const Pair& p, const Pair& q) { return p.distance < q.distance; });
  std::set<size_t> shown;
  for (const auto& p : pairs) {
    if (f.example_a.size() == kPairsShown) break;
    if (shown.count(p.x) || shown.count(p.y)) continue;  // a face once
    shown.insert(p.x), shown.insert(p.y);
    f.example_a.push_back(r.faces[p.x].face_id);
    f.example_b.push_back(r.faces[p.y].face_id);
  }
  return f;
}

}  // namespace

namespace {
// A distance as the findings show it.
std::string fixed3(float v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", double(v));
  return std::string(buf);
}

// A one-person finding: its closest face pairs side by side, the evidence, and
// the command that accepts it.
template <typename Thumb>
std::string one_person_finding_html(const Finding& f, const Thumb& thumb) {
  std::string html = "<div class=\"row finding\"><p><b>" + html_escape(f.a) + "</b> and <b>" + html_escape(f.b) +
                     "</b>: crowded distance " + fixed3(f.crowded_distance) + ", mean distance " + fixed3(f.distance) +
                     ", " + std::to_string(f.close_pairs) + " of " + std::to_string(f.pairs) + " face pairs close</p>";
  for (size_t i = 0; i < f.example_a.size() && i < f.example_b.size(); ++i)
    html += "<div class=\"pair\">" + thumb(f.example_a[i], true) + thumb(f.example_b[i], true) + "</div>";
  return html + "<p>same person? <code>" + html_escape(f.command) + "</code><br>different people? <code>" +
         html_escape(f.reject_command) + "</code> (never listed again)</p></div>";
}

// A two-people finding: faces of either side, the evidence, and the command
// that splits them.
template <typename Thumb>
std::string two_people_finding_html(const Finding& f, const Thumb& thumb) {
  auto side = [&](const std::vector<uint64_t>& ids, const std::string& name) {
    std::string html = "<div><b>" + html_escape(name) + "</b><div class=\"strip\">";
    for (uint64_t id : ids) html += thumb(id, true);
    return html + "</div></div>";
  };
  return "<div class=\"row finding\"><p>mean distance " + fixed3(f.distance) + " across the two sides, " +
         fixed3(f.within) + " inside them; " + std::to_string(f.close_pairs) + " of " + std::to_string(f.pairs) +
         " face pairs across close</p>" + side(f.example_a, f.a) + side(f.example_b, f.b) + "<p>two people? <code>" +
         html_escape(f.command) + "</code><br>one person? <code>" + html_escape(f.reject_command) +
         "</code> (never listed again)</p></div>";
}
}  // namespace

std::string html_escape(const std::string& raw) {
  const std::string s = utf8_safe(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

ReportOptions report_options_for_model(float same_person_distance) {
  ReportOptions options;
  const float scale = same_person_distance / models::kSamePersonDistance;
  options.close_distance *= scale;
  options.max_mean_distance *= scale;
  options.split_distance *= scale;
  options.match_distance *= scale;
  return options;
}

Expected<Report> build_report(const storage::Gallery& gallery, const ReportOptions& options) {
  const auto& store = gallery.store();
  Report r;
  std::map<uint64_t, std::string> names;
  Status s = store.for_each_person([&](const storage::Person& p) {
    names[p.id] = p.name;
    return true;
  });
  if (!s) return s;
  std::map<uint64_t, std::string> photo_paths;
  s = store.for_each_photo([&](const storage::Photo& p) {
    if (!p.face_ids.empty()) photo_paths[p.id] = p.path;
    return true;
  });
  if (!s) return s;
  std::vector<Descriptor> descriptors;
  std::vector<uint64_t> photo_of;
  s = store.for_each_face([&](const storage::Face& f) {
    r.faces.push_back(
        {f.id, photo_paths[f.photo_id], f.box, f.person_id, f.cluster_id, f.name_source == storage::NameSource::kAuto});
    descriptors.push_back(f.descriptor);
    photo_of.push_back(f.photo_id);
    return true;
  });
  if (!s) return s;

  // Groups: a named face belongs to its person, else to its cluster.
  std::map<std::pair<std::string, uint64_t>, ReportGroup> groups;
  ReportGroup unclustered{"unclustered", 0, "unclustered", {}};
  for (size_t i = 0; i < r.faces.size(); ++i) {
    const auto& f = r.faces[i];
    if (f.person_id) {
      auto& g = groups[{"person", f.person_id}];
      g.kind = "person", g.id = f.person_id, g.name = names[f.person_id];
      g.faces.push_back(i);
    } else if (f.cluster_id) {
      auto& g = groups[{"cluster", f.cluster_id}];
      g.kind = "cluster", g.id = f.cluster_id, g.name = "cluster " + std::to_string(f.cluster_id);
      g.faces.push_back(i);
    } else {
      unclustered.faces.push_back(i);
    }
  }
  for (auto& [key, g] : groups) r.groups.push_back(std::move(g));
  std::stable_sort(r.groups.begin(), r.groups.end(),
                   [](const ReportGroup& a, const ReportGroup& b) { return a.faces.size() > b.faces.size(); });

  auto apart = kept_apart(store);
  if (!apart) return apart.status();
  // (a) one person under two groups: group centroids' nearest neighbours are
  // the candidates; face pairs measured against their neighbourhoods decide.
  // Plain distances do not: where the model packs faces close, different
  // people's groups are nearer than one person's split groups elsewhere.
  if (r.groups.size() >= 2) {
    std::vector<Descriptor> centroids(r.groups.size());
    std::vector<uint64_t> gids(r.groups.size());
    std::vector<size_t> group_of(r.faces.size(), SIZE_MAX);  // unclustered faces: no group
    for (size_t gi = 0; gi < r.groups.size(); ++gi) {
      gids[gi] = gi;
      Descriptor c(size_t(dims_of(descriptors)), 0.0f);
      for (size_t i : r.groups[gi].faces) {
        group_of[i] = gi;
        for (size_t d = 0; d < c.size(); ++d) c[d] += descriptors[i][d] / float(r.groups[gi].faces.size());
      }
      centroids[gi] = c;
    }
    auto index = storage::make_faiss_index("Flat", dims_of(centroids));
    if (!index) return index.status();
    (*index)->add(gids, centroids);
    const auto knn = (*index)->search_many(centroids, 6);
    std::vector<std::pair<size_t, size_t>> candidates;
    for (size_t gi = 0; gi < r.groups.size(); ++gi)
      for (const auto& nb : knn[gi])
        if (size_t(nb.id) > gi) candidates.push_back({gi, size_t(nb.id)});
    const std::vector<float> crowding = group_crowding(gallery, r, descriptors, group_of, candidates);
    for (const auto& [gi, gj] : candidates) {
      if (apart->covers(r.groups[gi].faces, r.groups[gj].faces, r)) continue;  // a user said no
      Finding f = compare_groups(r, descriptors, crowding, r.groups[gi].faces, r.groups[gj].faces, options);
      if (f.crowded_distance > options.max_crowded_distance || f.distance > options.max_mean_distance) continue;
      f.kind = "one_person_two_groups";
      f.a = r.groups[gi].name;
      f.b = r.groups[gj].name;
      f.command = accept_command(r.groups[gi], r.groups[gj]);
      f.reject_command = reject_command(r.groups[gi], r.groups[gj]);
      r.findings.push_back(std::move(f));
    }
    std::sort(r.findings.begin(), r.findings.end(),
              [](const Finding& x, const Finding& y) { return x.crowded_distance < y.crowded_distance; });
  }
  // (b) two people under one group: cluster the group's faces on their own.
  const ClusterParams split_params = cluster_params_for_model(store.same_person_distance());
  for (const auto& g : r.groups) {
    std::vector<Descriptor> group_descriptors;
    std::vector<uint64_t> group_photos;
    for (size_t i : g.faces) group_descriptors.push_back(descriptors[i]), group_photos.push_back(photo_of[i]);
    const auto split = split_group(group_descriptors, group_photos, split_params, options.close_distance);
    if (!split || split->between <= options.split_distance) continue;
    Finding f;
    f.kind = "two_people_one_group";
    f.a = g.name + " (" + std::to_string(split->first.size()) + " faces)";
    f.b = g.name + " (" + std::to_string(split->second.size()) + " faces)";
    f.distance = split->between;
    f.within = split->within;
    f.close_pairs = split->close_pairs;
    f.pairs = split->pairs;
    auto shown = [&](const std::vector<size_t>& part) {
      std::vector<uint64_t> ids;
      const size_t n = std::min(part.size(), kFacesShownPerSide);
      for (size_t k = 0; k < n; ++k) ids.push_back(r.faces[g.faces[part[k * part.size() / n]]].face_id);
      return ids;
    };
    f.example_a = shown(split->first);
    f.example_b = shown(split->second);
    std::vector<uint64_t> first_ids, second_ids;
    for (size_t k : split->first) first_ids.push_back(r.faces[g.faces[k]].face_id);
    for (size_t k : split->second) second_ids.push_back(r.faces[g.faces[k]].face_id);
    if (apart->kept_together(first_ids, second_ids)) continue;  // a user said one person
    f.command = split_command(g, second_ids);
    f.reject_command = "facedex same " + shell_word(g.name);
    r.findings.push_back(std::move(f));
  }
  // (c) faces that match a named person but sit in another group.
  std::vector<uint64_t> named_pos;
  std::vector<Descriptor> named_vecs;
  for (size_t i = 0; i < r.faces.size(); ++i)
    if (r.faces[i].person_id) named_pos.push_back(named_pos.size()), named_vecs.push_back(descriptors[i]);
  if (!named_vecs.empty()) {
    std::vector<size_t> named_face;
    for (size_t i = 0; i < r.faces.size(); ++i)
      if (r.faces[i].person_id) named_face.push_back(i);
    auto index = storage::make_faiss_index("Flat", dims_of(named_vecs));
    if (!index) return index.status();
    (*index)->add(named_pos, named_vecs);
    std::vector<Descriptor> queries;
    std::vector<size_t> query_face;
    for (size_t i = 0; i < r.faces.size(); ++i)
      if (!r.faces[i].person_id) queries.push_back(descriptors[i]), query_face.push_back(i);
    const auto knn = (*index)->search_many(queries, 1);
    std::vector<Finding> matches;
    for (size_t q = 0; q < queries.size(); ++q) {
      if (knn[q].empty() || knn[q][0].distance >= options.match_distance) continue;
      const size_t named = named_face[knn[q][0].id];
      const auto& f = r.faces[query_face[q]];
      const std::string where = f.cluster_id ? "cluster " + std::to_string(f.cluster_id) : "unclustered";
      Finding m;
      m.kind = "matches_named_person";
      m.a = where;
      m.b = names[r.faces[named].person_id];
      m.distance = knn[q][0].distance;
      m.example_a = {f.face_id};
      m.example_b = {r.faces[named].face_id};
      matches.push_back(std::move(m));
    }
    std::sort(matches.begin(), matches.end(),
              [](const Finding& a, const Finding& b) { return a.distance < b.distance; });
    if (matches.size() > 1000) matches.resize(1000);
    r.findings.insert(r.findings.end(), matches.begin(), matches.end());
  }
  if (!unclustered.faces.empty()) r.groups.push_back(std::move(unclustered));
  return r;
}

Expected<std::vector<uint64_t>> faces_of_group(const storage::GalleryStore& store, const std::string& group) {
  auto person = store.person_by_name(group);
  if (!person) return person.status();
  if (*person) {
    std::vector<uint64_t> ids;
    Status s = store.for_each_face_of_person((*person)->id, [&](uint64_t fid) {
      ids.push_back(fid);
      return true;
    });
    if (!s) return s;
    return ids;
  }
  const std::string prefix = "cluster ";
  if (group.compare(0, prefix.size(), prefix) == 0 && group.size() > prefix.size() &&
      group.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {
    auto ids = faces_in_cluster(store, std::stoull(group.substr(prefix.size())));
    if (!ids) return ids.status();
    if (!ids->empty()) return ids;
  }
  return Status::not_found("no person or cluster \"" + group + "\" (see facedex persons, facedex clusters)");
}

Status write_html_report(const storage::Gallery& gallery, const Report& report, const ReportOptions& options,
                         const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir + "/thumbs", ec);
  if (ec) return Status::io_error(dir + ": cannot create report folder (" + ec.message() + ")");
  ::chmod((dir + "/thumbs").c_str(), 0700);
  // Thumbnails from the store: the report works when the photos are gone.
  for (const auto& f : report.faces) {
    auto face = gallery.store().face(f.face_id);
    if (!face) return face.status();
    if (!*face) continue;
    if (Status s = write_text(dir + "/thumbs/" + std::to_string(f.face_id) + ".jpg", (*face)->thumbnail_jpeg); !s)
      return s;
  }
  std::map<uint64_t, size_t> face_index;
  for (size_t i = 0; i < report.faces.size(); ++i) face_index[report.faces[i].face_id] = i;
  auto thumb = [&](uint64_t face_id, bool with_link) {
    const auto& f = report.faces[face_index[face_id]];
    std::string img = "<img loading=\"lazy\" src=\"thumbs/" + std::to_string(face_id) + ".jpg\" alt=\"face " +
                      std::to_string(face_id) + "\">";
    if (!with_link) return "<span class=\"face\">" + img + "</span>";
    // The folder and the file name: enough to find the photo, short enough for a phone.
    const auto last = f.photo.find_last_of('/');
    const auto before =
        last == std::string::npos || last == 0 ? std::string::npos : f.photo.find_last_of('/', last - 1);
    const std::string name = before == std::string::npos ? f.photo : f.photo.substr(before + 1);
    return "<span class=\"face\"><a href=\"" + html_escape(file_url(f.photo)) + "\">" + img + "</a><br>face " +
           std::to_string(face_id) + (f.automatic ? " (automatic name)" : "") + "<br>" + html_escape(name) + "</span>";
  };

  // Index pages: groups by size, a strip of thumbnails each.
  const size_t index_pages =
      std::max<size_t>(1, (report.groups.size() + options.groups_per_page - 1) / options.groups_per_page);
  size_t total_faces = 0;
  for (const auto& g : report.groups) total_faces += g.faces.size();
  for (size_t page = 0; page < index_pages; ++page) {
    std::string html =
        "<!doctype html><html><head>" + std::string(kStyle) + "<title>facedex report</title></head><body>";
    html += "<h1>facedex: " + std::to_string(report.groups.size()) + " groups, " + std::to_string(total_faces) +
            " faces</h1><p><a href=\"duplicates.html\">duplicate persons (" + std::to_string(report.findings.size()) +
            " findings)</a></p>";
    html += pager(page, index_pages, index_page);
    for (size_t gi = page * options.groups_per_page;
         gi < std::min(report.groups.size(), (page + 1) * options.groups_per_page); ++gi) {
      const auto& g = report.groups[gi];
      html += "<div class=\"row\"><a href=\"" + group_page(g, 0) + "\">" + html_escape(g.name) + "</a> (" +
              std::to_string(g.faces.size()) + " faces, " + g.kind + ")<div class=\"strip\">";
      for (size_t k = 0; k < std::min<size_t>(8, g.faces.size()); ++k)
        html += thumb(report.faces[g.faces[k]].face_id, false);
      html += "</div></div>";
    }
    html += pager(page, index_pages, index_page) + "</body></html>";
    if (Status s = write_text(dir + "/" + index_page(page), html); !s) return s;
  }
  // One page (or several) per group: every face, linked to its photo.
  for (const auto& g : report.groups) {
    const size_t pages = std::max<size_t>(1, (g.faces.size() + options.faces_per_page - 1) / options.faces_per_page);
    for (size_t page = 0; page < pages; ++page) {
      std::string html = "<!doctype html><html><head>" + std::string(kStyle) + "<title>" + html_escape(g.name) +
                         "</title></head><body><p><a href=\"index.html\">all groups</a></p><h1>" + html_escape(g.name) +
                         ": " + std::to_string(g.faces.size()) + " faces</h1>";
      html += pager(page, pages, [&](size_t p) { return group_page(g, p); }) + "<div class=\"grid\">";
      for (size_t k = page * options.faces_per_page; k < std::min(g.faces.size(), (page + 1) * options.faces_per_page);
           ++k)
        html += thumb(report.faces[g.faces[k]].face_id, true);
      html += "</div>" + pager(page, pages, [&](size_t p) { return group_page(g, p); }) + "</body></html>";
      if (Status s = write_text(dir + "/" + group_page(g, page), html); !s) return s;
    }
  }
  // Findings, side by side.
  std::string html = "<!doctype html><html><head>" + std::string(kStyle) +
                     "<title>duplicate persons</title></head><body><p><a href=\"index.html\">all groups</a></p>"
                     "<h1>Duplicate persons</h1>";
  const std::pair<const char*, const char*> sections[] = {
      {"one_person_two_groups",
       "Probably one person under two names or clusters (closest face pairs first; check them before you accept)"},
      {"two_people_one_group", "Probably two people under one name or cluster"},
      {"matches_named_person", "Faces that match a named person but sit elsewhere"}};
  for (const auto& [kind, title] : sections) {
    html += "<h2>" + std::string(title) + "</h2>";
    size_t shown = 0;
    for (const auto& f : report.findings) {
      if (f.kind != kind) continue;
      ++shown;
      if (f.kind == std::string("one_person_two_groups")) {
        html += one_person_finding_html(f, thumb);
        continue;
      }
      if (f.kind == std::string("two_people_one_group")) {
        html += two_people_finding_html(f, thumb);
        continue;
      }
      html += "<div class=\"row pair\"><div>";
      for (uint64_t id : f.example_a) html += thumb(id, true);
      html +=
          "<br>" + html_escape(f.a) + "</div><div>distance " + std::to_string(f.distance).substr(0, 5) + "</div><div>";
      for (uint64_t id : f.example_b) html += thumb(id, true);
      html += "<br>" + html_escape(f.b) + "</div></div>";
    }
    if (!shown) html += "<p>none</p>";
  }
  html += "</body></html>";
  return write_text(dir + "/duplicates.html", html);
}

Status write_json_report(const Report& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : report.groups) {
    nlohmann::json faces = nlohmann::json::array();
    for (size_t i : g.faces) {
      const auto& f = report.faces[i];
      faces.push_back({{"face_id", f.face_id},
                       {"photo", utf8_safe(f.photo)},
                       {"box", {f.box.left, f.box.top, f.box.right, f.box.bottom}},
                       {"automatic", f.automatic}});
    }
    groups.push_back({{"kind", g.kind}, {"id", g.id}, {"name", utf8_safe(g.name)}, {"faces", faces}});
  }
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings)
    findings.push_back({{"kind", f.kind},
                        {"a", utf8_safe(f.a)},
                        {"b", utf8_safe(f.b)},
                        {"distance", f.distance},
                        {"faces_a", f.example_a},
                        {"faces_b", f.example_b},
                        {"crowded_distance", f.crowded_distance},
                        {"within", f.within},
                        {"close_pairs", f.close_pairs},
                        {"pairs", f.pairs},
                        {"command", utf8_safe(f.command)},
                        {"reject_command", utf8_safe(f.reject_command)}});
  return write_text(dir + "/report.json",
                    nlohmann::json{{"faces", report.faces.size()}, {"groups", groups}, {"findings", findings}}.dump(1));
}

Status write_csv_report(const Report& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto field = [](const std::string& raw) { return csv_cell(utf8_safe(raw)); };
  std::string faces = "face_id,photo,left,top,right,bottom,group_kind,group_id,group_name,name_source\n";
  for (const auto& g : report.groups)
    for (size_t i : g.faces) {
      const auto& f = report.faces[i];
      faces += std::to_string(f.face_id) + "," + field(f.photo) + "," + std::to_string(f.box.left) + "," +
               std::to_string(f.box.top) + "," + std::to_string(f.box.right) + "," + std::to_string(f.box.bottom) +
               "," + g.kind + "," + std::to_string(g.id) + "," + field(g.name) + "," +
               (f.person_id ? (f.automatic ? "automatic" : "user") : "") + "\n";
    }
  if (Status s = write_text(dir + "/faces.csv", faces); !s) return s;
  std::string findings = "kind,a,b,distance,faces_a,faces_b,crowded_distance,within,close_pairs,pairs,command\n";
  auto ids = [](const std::vector<uint64_t>& v) {
    std::string out;
    for (uint64_t id : v) out += (out.empty() ? "" : " ") + std::to_string(id);
    return out;
  };
  for (const auto& f : report.findings)
    findings += f.kind + "," + field(f.a) + "," + field(f.b) + "," + std::to_string(f.distance) + "," +
                ids(f.example_a) + "," + ids(f.example_b) + "," + std::to_string(f.crowded_distance) + "," +
                std::to_string(f.within) + "," + std::to_string(f.close_pairs) + "," + std::to_string(f.pairs) + "," +
                field(f.command) + "\n";
  return write_text(dir + "/findings.csv", findings);
}

Status replace_report_folder(const std::string& dir_arg, const std::function<Status(const std::string& fresh)>& write) {
  namespace fs = std::filesystem;
  constexpr const char* kMarker = ".facedex-report";
  std::error_code ec;
  std::string dir = fs::absolute(dir_arg, ec).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const bool exists = fs::exists(dir, ec);
  if (exists) {
    if (!fs::is_directory(dir, ec)) return Status::invalid_input(dir + ": exists and is not a folder");
    if (!fs::is_empty(dir, ec) && !fs::exists(dir + "/" + kMarker, ec))
      return Status::invalid_input(dir + ": not empty and not a facedex report folder; choose a new or empty folder");
  }
  const std::string fresh = dir + ".facedex-new-" + std::to_string(::getpid());
  fs::remove_all(fresh, ec);
  if (!fs::create_directories(fresh, ec) || ::chmod(fresh.c_str(), 0700) != 0)
    return Status::io_error(fresh + ": cannot create report folder (" + ec.message() + ")");
  Status s = write_text(fresh + "/" + kMarker, "written by facedex report; replaced whole by the next one\n");
  if (s) s = write(fresh);
  if (!s) {
    fs::remove_all(fresh, ec);
    return s;
  }
  // The old report goes only once the new one is complete.
  if (exists) {
    const std::string old = dir + ".facedex-old-" + std::to_string(::getpid());
    fs::rename(dir, old, ec);
    if (ec) return Status::io_error(dir + ": cannot replace the old report (" + ec.message() + ")");
    fs::rename(fresh, dir, ec);
    if (ec) return Status::io_error(dir + ": cannot move the new report into place (" + ec.message() + ")");
    fs::remove_all(old, ec);
  } else {
    fs::rename(fresh, dir, ec);
    if (ec) return Status::io_error(dir + ": cannot move the new report into place (" + ec.message() + ")");
  }
  return Status::ok();
}

}  // namespace facedex::search
