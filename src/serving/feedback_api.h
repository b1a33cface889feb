// POST /feedback: the true class of an earlier prediction, as JSON
// {"prediction_id": "...", "true_class": "..."}, recorded in LiveAccuracy
// under the name of the token that sent it.
// 200 with what was recorded; 400 for a bad body (naming the field) or an
// unknown class (naming the valid ones); 401 without a valid token and 403
// with a token below labeler, where feedback needs a token; 403 when the
// token holds its share of the window already (--feedback-max-per-token);
// 404 for an unknown or forgotten id; 409 when the id has feedback already.
// A refused request changes nothing. Thread-safe (LiveAccuracy is).
#ifndef SPATIAL_SERVING_FEEDBACK_API_H_
#define SPATIAL_SERVING_FEEDBACK_API_H_

#include <string>

#include "src/serving/http/http_server.h"
#include "src/serving/live_accuracy.h"
#include "src/serving/tokens.h"

namespace spatial::serving {

// Whether POST /feedback needs a token of role labeler or higher: in every
// environment but development (staging, production and any other), always
// when feedback can roll the environment back (--rollback-on-drift), and
// with --require-token. Only a development server without either takes
// feedback without a token (as anonymous, "" in LiveAccuracy).
bool FeedbackNeedsToken(const std::string& environment, bool rollback_on_drift,
                        bool require_token);

struct FeedbackAccess {
  bool need_token = false;             // see FeedbackNeedsToken
  const TokenTable* tokens = nullptr;  // not owned; null: every token is 401
};

// The access check (a labeler token where `access` needs one), then
// RecordFeedback. The server's route table checks access itself and calls
// RecordFeedback.
http::HttpResponse HandleFeedback(LiveAccuracy& live,
                                  const FeedbackAccess& access,
                                  const http::HttpRequest& request);

// Records the feedback in `request` under `labeler` (the token's name; "" for
// anonymous).
http::HttpResponse RecordFeedback(LiveAccuracy& live,
                                  const std::string& labeler,
                                  const http::HttpRequest& request);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_FEEDBACK_API_H_
