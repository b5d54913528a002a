// Person names as users type them: "Tony Blair " and "tony blair" are the
// same person to a reader, so names are trimmed and compared without case.
#pragma once

#include <optional>
#include <string>

#include "storage/gallery_store.h"

namespace facedex::search {

// The name trimmed of Unicode white space at both ends; kInvalidInput when
// nothing is left or it holds control characters.
Expected<std::string> clean_person_name(const std::string& name);

// Lower-cased form for comparing names (Unicode simple case mapping).
std::string fold_case(const std::string& name);

// A stored person whose name equals `name` but for case, when no person has
// exactly `name`.
Expected<std::optional<storage::Person>> person_differing_in_case(const storage::GalleryStore& store,
                                                                  const std::string& name);

}  // namespace facedex::search
