#!/bin/sh
# Regenerate the TypeScript for schemas/quorum.fbs into src/main/net/generated/.
# The output is committed, so builds and CI need no flatc; run this after editing a schema.
# Needs flatc 2.0.8 (Debian: apt-get install -y flatbuffers-compiler); the generated code
# runs on the npm `flatbuffers` runtime.
#
# Post-processing, because flatc emits CommonJS-style specifiers:
#   - relative imports get a `.js` extension (NodeNext ESM resolution needs it);
#   - nothing else: the generated code compiles under the strict tsconfig as is, so no
#     `// @ts-nocheck` header is added.
set -eu
cd "$(dirname "$0")/.."
out=src/main/net/generated
command -v flatc >/dev/null || { echo "flatc not found (apt-get install -y flatbuffers-compiler)" >&2; exit 1; }
case "$(flatc --version)" in
  *2.0.8*) ;;
  *) echo "warning: expected flatc 2.0.8, got: $(flatc --version)" >&2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flatc --ts -o "$tmp" schemas/quorum.fbs
find "$tmp" -name '*.ts' | while read -r f; do
  sed -i -E "s#(from '\.{1,2}/[^']*)'#\1.js'#; s#\.js\.js'#.js'#" "$f"
done
rm -rf "$out"
mkdir -p "$out"
cp -R "$tmp"/. "$out"/
echo "generated $(find "$out" -name '*.ts' | wc -l) files under $out"
