// POST /feedback: the true class of an earlier prediction, as JSON
// {"prediction_id": "...", "true_class": "..."}, recorded in LiveAccuracy.
// 200 with what was recorded; 400 for a bad body or an unknown class (naming
// the valid ones); 404 for an unknown or forgotten id; 409 when the id has
// feedback already.
#ifndef SPATIAL_SERVING_FEEDBACK_API_H_
#define SPATIAL_SERVING_FEEDBACK_API_H_

#include "src/serving/http/http_server.h"
#include "src/serving/live_accuracy.h"

namespace spatial::serving {

http::HttpResponse HandleFeedback(LiveAccuracy& live,
                                  const http::HttpRequest& request);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_FEEDBACK_API_H_
