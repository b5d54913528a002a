// Enrolment: reference photos of people become gallery photos like any other
// (indexed incrementally), and the largest face of each is named as its person.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/face_pipeline.h"
#include "search/people.h"
#include "storage/gallery.h"

namespace facedex::search {

// Each person's name with their reference photos.
using EnrollmentPlan = std::vector<std::pair<std::string, std::vector<std::string>>>;

// From NAME PHOTO..., or from DIR/NAME/photo.jpg (one subfolder per person,
// crawled like `index` does; `problem` hears of files it cannot use).
// kInvalidInput for a wrong combination, kNotFound for a folder with no person.
Expected<EnrollmentPlan> plan_enrollment(const std::vector<std::string>& args, const std::string& dir,
                                         const std::function<void(const std::string&)>& problem);

struct EnrollmentReport {
  std::function<void(const std::string&)> problem;  // a photo or person not enrolled, and why
  std::function<void(const std::string&)> note;     // what a user should know (which face of several)
};

// Indexes each person's photos and names the largest face of each photo
// (NamingOptions as `name` takes them; a name differing only by case joins
// that person unless new_person). Returns how many photos or persons were not
// enrolled; fails only on a database or naming error that stops the run.
Expected<size_t> enroll(storage::Gallery& gallery, std::shared_ptr<const models::FaceModels> models,
                        const EnrollmentPlan& plan, NamingOptions naming, const EnrollmentReport& report);

}  // namespace facedex::search
