#!/bin/sh
# Seeds the fuzz corpora from the committed objects (progs/obj, tests/data,
# elf/tests/data, elf/src/btf/testdata):
#   corpus/parse_object/   every object as is;
#   corpus/relocate/       the same: the relocate target parses its input too;
#   corpus/parse_btf/      each object's .BTF and .BTF.ext, as the target reads
#                          them: u16 length of .BTF (LE), .BTF, then .BTF.ext;
#   corpus/parse_btf_ext/  a byte naming one of the objects parse_btf_ext.rs
#                          embeds (its OBJECTS order), then that object's .BTF.ext.
#   corpus/btf_values/     a byte naming one of the objects btf_values.rs
#                          embeds, a type id, a size, then bytes that read as
#                          a value and as words (members, numbers, hex).
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/parse_object corpus/relocate corpus/parse_btf corpus/parse_btf_ext corpus/btf_values
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The bytes of .BTF.ext of $1 into $tmp/ext (empty when it has none).
dump_ext() {
	llvm-objcopy --dump-section ".BTF.ext=$tmp/ext" "$1" "$tmp/copy" 2>/dev/null || : >"$tmp/ext"
}

for obj in ../progs/obj/*.o ../tests/data/*.o ../elf/tests/data/*.o ../elf/src/btf/testdata/*.o; do
	name=$(basename "$obj" .o)
	cp "$obj" "corpus/parse_object/$name.o"
	cp "$obj" "corpus/relocate/$name.o"
	llvm-objcopy --dump-section ".BTF=$tmp/btf" "$obj" "$tmp/copy" 2>/dev/null || continue
	dump_ext "$obj"
	size=$(stat -c %s "$tmp/btf")
	[ "$size" -lt 65536 ] || continue
	printf "$(printf '\\%03o\\%03o' $((size & 255)) $((size >> 8)))" >"$tmp/len"
	cat "$tmp/len" "$tmp/btf" "$tmp/ext" >"corpus/parse_btf/$name.bin"
done

index=0
for obj in ../progs/obj/xdp_prog_kern.o ../progs/obj/btf_maps.o ../progs/obj/global_data.o \
	../progs/obj/multi_prog.o ../elf/tests/data/calls.o ../tests/data/core_kern.o; do
	dump_ext "$obj"
	printf "$(printf '\\%03o' "$index")" | cat - "$tmp/ext" >"corpus/parse_btf_ext/$(basename "$obj" .o).bin"
	index=$((index + 1))
done
for object in 0 1 2 3; do
	for id in 1 2 5 10 11 14 18 28 35; do
		for words in "packets=1,flags.low=3,name=eth0" "SEEN_IPV4" "hex 01 02 03 04" "1 0 0 0" "-1"; do
			printf "$(printf '\\%03o\\%03o\\000\\000\\000\\060' "$object" "$id")%s" "$words" \
				>"corpus/btf_values/$object-$id-$(printf '%s' "$words" | cksum | cut -d' ' -f1).bin"
		done
	done
done
for target in parse_object relocate parse_btf parse_btf_ext btf_values; do
	echo "corpus/$target: $(ls corpus/$target | wc -l) inputs"
done
