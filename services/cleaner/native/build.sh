#!/bin/sh
# Builds the sweep's walker (tree-walk.c) into services/cleaner/bin/tree-walk.
# Called by `make build` and by deploy/Dockerfile; needs a C compiler and libc headers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/../bin"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o "$here/../bin/tree-walk.tmp" "$here/tree-walk.c"
mv "$here/../bin/tree-walk.tmp" "$here/../bin/tree-walk"
