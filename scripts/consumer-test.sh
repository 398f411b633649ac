#!/usr/bin/env bash
# The package as a stranger gets it: build, `npm pack`, install the tarball into an empty app and use it there.
#   1. without the optional peer @electric-sql/pglite: the package imports; the embedded engine names what to install;
#   2. with it: a plain .mjs app queries PGlite; a .ts consumer type-checks under the config `tsc --init` writes;
#   3. the installed `tessera` command: --version, demo --json;
#   4. with TESSERA_TEST_DATABASE_URL set: `tessera init` on a sample schema (examples/init-sample-schema.sql) in a
#      fresh database, and `tessera check` accepts what it wrote.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
version="$(node -p 'require("./package.json").version')"
pglite="$(node -p 'require("./package.json").devDependencies["@electric-sql/pglite"]')"

# Outside the checkout: inside it, Node would resolve the repo's own node_modules (and find PGlite there).
app="$(mktemp -d "${TMPDIR:-/tmp}/tessera-consumer-XXXXXX")"
trap 'rm -rf "$app"' EXIT

echo "== build and pack"
npm run build --silent
npm pack --ignore-scripts --silent --pack-destination "$app" >/dev/null
tarball="$app/tessera-db-$version.tgz"
test -f "$tarball"
if tar -tzf "$tarball" | grep -E '^package/(test|node_modules|\.tessera-tmp)/' ; then
  echo "the tarball ships files it must not"; exit 1
fi

echo "== install into an empty app (no PGlite): $app"
cd "$app"
printf '{ "name": "consumer", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tarball" >/dev/null
test ! -e node_modules/@electric-sql/pglite
test ! -e node_modules/tsx
cp "$root"/test/consumer/{no-pglite.mjs,app.mjs,app.ts,schema.sql} .
node no-pglite.mjs

echo "== with PGlite: run the .mjs app"
npm install --no-audit --no-fund --prefer-offline --loglevel=error "@electric-sql/pglite@$pglite" >/dev/null
node app.mjs
node -e "import('tessera-db').then((t) => { if (typeof t.createToolset !== 'function') process.exit(1) })"

echo "== type-check the .ts consumer with a default tsc --init"
"$root/node_modules/.bin/tsc" --init >/dev/null
"$root/node_modules/.bin/tsc" --noEmit -p .

echo "== the installed command"
test "$(npx --no-install tessera --version)" = "$version"
npx --no-install tessera demo --json > demo.jsonl
node -e "
const lines = require('fs').readFileSync('demo.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l))
const last = lines.at(-1)
if (!last.audit || last.audit.records < 8) { console.error('demo --json ended with', last); process.exit(1) }
"
if [ -n "${TESSERA_TEST_DATABASE_URL:-}" ]; then
  echo "== tessera init on a sample schema, then tessera check"
  base="${TESSERA_TEST_DATABASE_URL%/*}"
  sample="tessera_init_sample_$$"
  psql "$TESSERA_TEST_DATABASE_URL" -v ON_ERROR_STOP=1 -q -c "create database ${sample}"
  trap 'psql "$TESSERA_TEST_DATABASE_URL" -q -c "drop database if exists ${sample} with (force)" || true; rm -rf "$app"' EXIT
  psql "$base/$sample" -v ON_ERROR_STOP=1 -q -f "$root/examples/init-sample-schema.sql"
  npx --no-install tessera init --db "$base/$sample" --out tracker.yaml
  grep -q 'token_secret: deny' tracker.yaml
  npx --no-install tessera check tracker.yaml --database-url "$base/$sample"
fi
echo "consumer test passed (tessera-db@$version)"
