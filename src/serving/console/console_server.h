// ConsoleServer: the request handler of `spatial console`, which serves the
// operator console and the management API over a registry without serving a
// model: only the console's and /api/v1's rows of the route table answer
// (everything else is 404; GET / sends the browser to /console). Thread-safe
// as the APIs it points at.
#ifndef SPATIAL_SERVING_CONSOLE_CONSOLE_SERVER_H_
#define SPATIAL_SERVING_CONSOLE_CONSOLE_SERVER_H_

#include "src/serving/console/console_api.h"
#include "src/serving/http/http_server.h"
#include "src/serving/management_api.h"
#include "src/serving/route_table.h"
#include "src/serving/tokens.h"

namespace spatial::serving {

class ConsoleServer : public http::RequestHandler {
 public:
  // None owned; all outlive the server. `tokens` null: every data route and
  // action is 401.
  ConsoleServer(ConsoleApi* console, ManagementApi* management,
                const TokenTable* tokens)
      : console_(console), management_(management), tokens_(tokens) {}

  void Handle(http::HttpRequest request, http::Responder respond) override;

 private:
  ConsoleApi* console_;
  ManagementApi* management_;
  const TokenTable* tokens_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_CONSOLE_CONSOLE_SERVER_H_
