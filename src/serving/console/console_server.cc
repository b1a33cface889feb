// ConsoleServer (console_server.h). Thread-safe.
#include "src/serving/console/console_server.h"

namespace spatial::serving {

void ConsoleServer::Handle(http::HttpRequest request, http::Responder respond) {
  if (request.path == "/" &&
      (request.method == "GET" || request.method == "HEAD")) {
    http::HttpResponse r;
    r.status = 302;
    r.content_type = "text/plain";
    r.body = "the console is at /console\n";
    r.headers = {{"Location", "/console"}};
    return respond(std::move(r));
  }
  RouteTable::Dispatch({.management = management_, .console = console_},
                       {.tokens = tokens_}, request, respond,
                       /*not_found_is_404=*/true);
}

}  // namespace spatial::serving
