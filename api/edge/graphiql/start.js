// GraphiQL on gridlink's own /graphql (HTTP and graphql-transport-ws). Every file comes from
// this server: the page works with no internet. `?q=` (the query; `?query=` would run it), `?variables=` and `?headers=`
// (JSON, e.g. {"Authorization": "Bearer glk_…"}) prefill the editors.
(function () {
  var params = new URLSearchParams(window.location.search);
  var url = new URL("/graphql", window.location.href);
  var socket = new URL(url);
  socket.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: socket.href });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: "# 示例 / example\n{ me { name roles } }\n",
      query: params.get("q") || undefined,
      variables: params.get("variables") || undefined,
      headers: params.get("headers") || undefined,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
