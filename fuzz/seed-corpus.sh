#!/bin/sh
# Seeds the fuzz corpora from the committed objects:
#   corpus/parse_object/  every progs/obj/*.o and elf/tests/data/*.o as is;
#   corpus/parse_btf/     each object's .BTF and .BTF.ext, as the target reads
#                         them: u16 length of .BTF (LE), .BTF, then .BTF.ext.
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/parse_object corpus/parse_btf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for obj in ../progs/obj/*.o ../elf/tests/data/*.o; do
	name=$(basename "$obj" .o)
	cp "$obj" "corpus/parse_object/$name.o"
	llvm-objcopy --dump-section ".BTF=$tmp/btf" "$obj" "$tmp/copy" 2>/dev/null || continue
	llvm-objcopy --dump-section ".BTF.ext=$tmp/ext" "$obj" "$tmp/copy" 2>/dev/null || : >"$tmp/ext"
	size=$(stat -c %s "$tmp/btf")
	[ "$size" -lt 65536 ] || continue
	printf "$(printf '\\%03o\\%03o' $((size & 255)) $((size >> 8)))" >"$tmp/len"
	cat "$tmp/len" "$tmp/btf" "$tmp/ext" >"corpus/parse_btf/$name.bin"
done
echo "seeded $(ls corpus/parse_object | wc -l) objects and $(ls corpus/parse_btf | wc -l) BTF pairs"
