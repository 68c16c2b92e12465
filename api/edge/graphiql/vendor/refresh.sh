#!/usr/bin/env sh
# Refresh the GraphiQL files that gridlink serves itself (api/edge/graphiql/), so that the
# development page works with no internet: the pinned releases are fetched with `npm pack`
# from the npm registry, their browser builds kept gzip-compressed (served as they are to
# browsers that accept gzip), with the licences beside them. Change a version, run, commit.
set -eu
GRAPHIQL_VERSION=3.8.3
REACT_VERSION=18.2.0

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
for archive in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
  package="${archive%-*}"
  mkdir "$package"
  tar -xzf "$archive.tgz" -C "$package"
done
keep() { gzip -9n -c "$1" > "$here/$2.gz"; }
keep graphiql/package/graphiql.min.js graphiql.min.js
keep graphiql/package/graphiql.min.css graphiql.min.css
keep react/package/umd/react.production.min.js react.production.min.js
keep react-dom/package/umd/react-dom.production.min.js react-dom.production.min.js
cp graphiql/package/LICENSE "$here/LICENSE.graphiql"
cp react/package/LICENSE "$here/LICENSE.react"
cp react-dom/package/LICENSE "$here/LICENSE.react-dom"
cat > "$here/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL_VERSION (MIT; its browser build bundles @graphiql/react, CodeMirror and
  other MIT-licensed modules, each named in the file's comments)
react $REACT_VERSION (MIT)
react-dom $REACT_VERSION (MIT)
VERSIONS
echo "vendored GraphiQL $GRAPHIQL_VERSION with React $REACT_VERSION into $here"
