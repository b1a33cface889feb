// HandleFeedback and RecordFeedback (feedback_api.h). Thread-safe.
#include "src/serving/feedback_api.h"

#include "absl/strings/str_cat.h"
#include "src/serving/management_api.h"
#include "src/serving/responses.h"

namespace spatial::serving {

bool FeedbackNeedsToken(const std::string& environment, bool rollback_on_drift,
                        bool require_token) {
  return environment != "development" || rollback_on_drift || require_token;
}

http::HttpResponse HandleFeedback(LiveAccuracy& live,
                                  const FeedbackAccess& access,
                                  const http::HttpRequest& request) {
  // Who labels, before the body is looked at: a refused caller learns
  // nothing about prediction ids.
  std::string labeler;
  if (access.need_token) {
    AuthResult auth = Authorize(access.tokens, request, Role::kLabeler);
    if (!auth.entry) return auth.refusal;
    labeler = auth.entry->name;
  }
  return RecordFeedback(live, labeler, request);
}

http::HttpResponse RecordFeedback(LiveAccuracy& live,
                                  const std::string& labeler,
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
  for (const auto& item : body.items()) {
    if (item.key() != "prediction_id" && item.key() != "true_class") {
      return bad(
          absl::StrCat("unknown field '", item.key().substr(0, 64), "'"));
    }
  }
  auto recorded = live.Feedback(body["prediction_id"].get<std::string>(),
                                body["true_class"].get<std::string>(), labeler);
  if (!recorded.ok()) return Error(recorded.status());
  return JsonResponse(200, recorded->ToJson());
}

}  // namespace spatial::serving
