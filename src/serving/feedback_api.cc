#include "src/serving/feedback_api.h"

#include "absl/strings/str_cat.h"
#include "src/serving/responses.h"

namespace spatial::serving {

http::HttpResponse HandleFeedback(LiveAccuracy& live,
                                  const http::HttpRequest& request) {
  using Json = nlohmann::json;
  auto bad = [&](const std::string& why) {
    live.CountInvalidFeedback();
    return Error(absl::InvalidArgumentError(absl::StrCat(
        why,
        "; send JSON {\"prediction_id\": \"...\", \"true_class\": \"...\"}")));
  };
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return bad("the body is not a JSON object");
  for (const char* field : {"prediction_id", "true_class"}) {
    auto it = body.find(field);
    if (it == body.end()) return bad(absl::StrCat("'", field, "' is missing"));
    if (!it->is_string() || it->get<std::string>().empty())
      return bad(absl::StrCat("'", field, "' must be a non-empty string"));
  }
  auto recorded = live.Feedback(body["prediction_id"].get<std::string>(),
                                body["true_class"].get<std::string>());
  if (!recorded.ok()) return Error(recorded.status());
  return JsonResponse(200, recorded->ToJson());
}

}  // namespace spatial::serving
