// facedex: face-gallery indexing and similarity search. This file only wires
// the subcommands together; each lives in its own cli/cmd_*.cpp.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "cli/cli_common.h"

#ifndef FACEDEX_VERSION
#define FACEDEX_VERSION "dev"
#endif

int main(int argc, char** argv) {
  using namespace facedex::cli;
  CLI::App app{"facedex: index the faces in your photo collections and search them, all on this machine"};
  app.set_version_flag("--version", std::string("facedex ") + FACEDEX_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions g;
  app.add_option("--db", g.db_dir, "Database directory (default ~/.local/share/facedex)")->envname("FACEDEX_DB");
  app.add_option("--models", g.models_dir, "Directory with dlib model files to use instead of the bundled ones")
      ->envname("FACEDEX_MODELS");
  const char* embedder_help =
      "Descriptor model: auto (dlib's ResNet, run by the fastest backend: onednn), onednn or dlib (they agree within "
      "1e-4); faceplugin (the bundled Faceplugin network, 512 values, ArcFace-aligned: the most accurate here, at 0.8 "
      "of dlib's speed); mobilefacenet (the bundled MobileFaceNet, 192 values, not accurate); or an external model "
      "with a PATH.json spec: onnx:PATH, or tf:PATH for a frozen TensorFlow GraphDef (FaceNet and the like). Each "
      "model has its own fingerprint and thresholds; see models --help. Not given, a command on a gallery uses the "
      "bundled model the gallery was made with";
  CLI::Option* embedder = app.add_option("--embedder", g.embedder, embedder_help)
                              ->envname("FACEDEX_EMBEDDER")
                              ->check(CLI::Validator(
                                  [](std::string& v) {
                                    auto parsed = facedex::models::parse_embedder_backend(v);
                                    return parsed ? std::string() : parsed.status().message();
                                  },
                                  "auto|onednn|dlib|faceplugin|mobilefacenet|onnx:PATH|tf:PATH"));
  app.add_option(
         "--detector", g.detector,
         "Face detector: cnn (RetinaFace, finds turned, small and crowded faces) or hog (dlib's frontal HOG). A "
         "gallery indexed with the other one is analysed again once, keeping every face it has")
      ->envname("FACEDEX_DETECTOR")
      ->capture_default_str()
      ->check(CLI::IsMember({"cnn", "hog"}));
  app.add_flag("-q,--quiet", g.quiet, "Print errors only");
  // Runs before the subcommand's body: a command on a database follows its model unless told otherwise.
  app.parse_complete_callback([&g, embedder] { g.embedder_given = embedder->count() > 0; });

  int exit_code = kExitOk;
  register_faces_command(app, g, &exit_code);
  register_models_command(app, g, &exit_code);
  register_index_command(app, g, &exit_code);
  register_gallery_commands(app, g, &exit_code);
  register_people_commands(app, g, &exit_code);
  register_query_commands(app, g, &exit_code);
  register_cluster_commands(app, g, &exit_code);
  register_library_commands(app, g, &exit_code);

  // CLI11 would say "arguments were not expected" of a mistyped command.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--db" || arg == "--models" || arg == "--embedder" || arg == "--detector") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    if (app.get_subcommands([&arg](const CLI::App* c) { return c->check_name(arg); }).empty()) {
      report_error("unknown command \"" + arg + "\" (facedex --help lists the commands)");
      return kExitUsage;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  } catch (const std::exception& e) {
    report_error(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
  return exit_code;
}
